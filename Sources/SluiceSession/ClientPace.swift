/// How long a client may take over one command line, and how slowly it may send a message: the
/// defence against a client that keeps a session by sending a byte every few seconds (which the idle
/// timeout never sees). Like Postfix's `smtpd_per_request_deadline` with `smtpd_min_data_rate`: a
/// command line must arrive within `commandTime` of waiting for it; a message within `commandTime`
/// plus one second for every `minimumDataRate` octets received.
///
/// Only time spent waiting on the client counts (the handler reports it with `waited(_:)`); time the
/// session waits on the upstream, a policy step or its own spool does not.
public struct ClientPace: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable {
        case inTime
        /// A command line (or AUTH response) did not arrive within `commandTime`.
        case commandTooSlow
        /// DATA arrives more slowly than the minimum rate allows.
        case dataTooSlow
    }

    public let commandTime: Double
    public let minimumDataRate: Int
    public private(set) var waited: Double = 0
    public private(set) var dataOctets = 0
    public private(set) var receivingData = false

    public init(commandTime: Double, minimumDataRate: Int) {
        self.commandTime = commandTime
        self.minimumDataRate = minimumDataRate
    }

    /// A whole line arrived (or the message ended): the next one has its own deadline.
    public mutating func lineReceived() {
        waited = 0
        dataOctets = 0
        receivingData = false
    }

    /// The 354 went out: the message's deadline starts.
    public mutating func dataStarted() {
        waited = 0
        dataOctets = 0
        receivingData = true
    }

    public mutating func received(dataOctets count: Int) {
        dataOctets += count
    }

    /// Seconds the session may still wait for what it is receiving now.
    public var allowance: Double {
        guard receivingData, minimumDataRate > 0 else { return commandTime }
        return commandTime + Double(dataOctets) / Double(minimumDataRate)
    }

    /// Adds `seconds` spent waiting on the client; says whether the deadline has passed.
    public mutating func waited(_ seconds: Double) -> Verdict {
        waited += seconds
        guard waited > allowance else { return .inTime }
        return receivingData ? .dataTooSlow : .commandTooSlow
    }
}
