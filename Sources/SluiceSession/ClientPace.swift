import NIOCore

/// How long a client may take over one command line, and how slowly it may send a message: the
/// defence against a client that keeps a session by sending a byte every few seconds (which the idle
/// timeout never sees). Like Postfix's `smtpd_per_request_deadline` with `smtpd_min_data_rate`: a
/// command line must arrive within `commandTime` of waiting for it; a message within `commandTime`
/// plus one second for every `minimumDataRate` octets received.
///
/// It also keeps the idle timeout: seconds without a byte from the client while the session waits on it.
///
/// Only time spent waiting on the client counts (the session clock reports it with `looked(at:)`); time
/// the session waits on the upstream, a policy step or its own spool does not.
public struct ClientPace: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable {
        case inTime
        /// A command line (or AUTH response) did not arrive within `commandTime`.
        case commandTooSlow
        /// DATA arrives more slowly than the minimum rate allows.
        case dataTooSlow
        /// Nothing at all arrived for `idleTimeout` seconds.
        case idle
    }

    public let commandTime: Double
    public let minimumDataRate: Int
    public let idleTimeout: Double
    /// When the clock last looked, and seconds without a byte from the client since.
    var lastLook: NIODeadline
    public private(set) var idle: Double = 0
    public private(set) var waited: Double = 0
    public private(set) var dataOctets = 0
    public private(set) var receivingData = false

    public init(commandTime: Double, minimumDataRate: Int, idleTimeout: Double = .infinity, now: NIODeadline = .uptimeNanoseconds(0)) {
        self.commandTime = commandTime
        self.minimumDataRate = minimumDataRate
        self.idleTimeout = idleTimeout
        self.lastLook = now
    }

    /// Bytes arrived from the client (any, even part of a line): it is not idle.
    public mutating func clientActive() {
        idle = 0
    }

    /// The clock looked at `now`. Time since it last looked counts only when `waitingOnClient`.
    public mutating func looked(at now: NIODeadline, waitingOnClient: Bool) -> Verdict {
        let elapsed = Double((now - lastLook).nanoseconds) / 1e9
        lastLook = now
        guard waitingOnClient else {
            idle = 0
            return .inTime
        }
        let verdict = waited(elapsed)
        guard verdict == .inTime else { return verdict }
        idle += elapsed
        return idle >= idleTimeout ? .idle : .inTime
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
