import SluiceSMTP

/// How Sluice talks TLS to the upstream (`upstream HOST:PORT starttls|starttls-required|tls`).
public enum UpstreamTLSMode: String, Hashable, Sendable {
    case none
    /// Use STARTTLS when the upstream offers it.
    case starttls
    /// Refuse to relay (421 4.7.0 to the client) unless the upstream offers STARTTLS.
    case starttlsRequired = "starttls-required"
    /// Implicit TLS from the first byte.
    case tls
}

/// Sluice's own STARTTLS with the upstream, before the client's dialogue is relayed: after the
/// upstream's greeting, EHLO; if STARTTLS is offered, STARTTLS and the handshake; then the greeting is
/// handed to the client session. The client's own EHLO, relayed later, is the upstream's new EHLO.
public struct UpstreamTLSNegotiation: Sendable {
    public enum Action: Hashable, Sendable {
        /// Send this command line to the upstream.
        case send(String)
        /// Add the TLS handler (client side) to the upstream connection.
        case startHandshake
        /// Negotiation over: give this greeting to the client session.
        case done(greeting: SMTPReply)
        /// The upstream cannot be used as configured: tell the client 421 and close.
        case fail(String)
    }

    enum State: Hashable, Sendable {
        case awaitingGreeting
        case awaitingEHLO(greeting: SMTPReply)
        case awaitingSTARTTLS(greeting: SMTPReply)
        case handshaking(greeting: SMTPReply)
        case finished
    }

    public let mode: UpstreamTLSMode
    public let hostname: String
    private var state: State = .awaitingGreeting

    public init(mode: UpstreamTLSMode, hostname: String) {
        self.mode = mode
        self.hostname = hostname
    }

    /// Whether upstream replies belong to the negotiation (not yet to the client session).
    public var isActive: Bool { mode != .none && mode != .tls && state != .finished }

    public mutating func replied(_ reply: SMTPReply) -> Action {
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else {
                state = .finished
                return .done(greeting: reply) // the session answers a refusing upstream
            }
            state = .awaitingEHLO(greeting: reply)
            return .send("EHLO \(hostname)")
        case .awaitingEHLO(let greeting):
            let offered = reply.isPositiveCompletion
                && reply.lines.dropFirst().contains { $0.split(separator: " ").first?.uppercased() == "STARTTLS" }
            if offered {
                state = .awaitingSTARTTLS(greeting: greeting)
                return .send("STARTTLS")
            }
            state = .finished
            if mode == .starttlsRequired { return .fail("upstream does not offer STARTTLS") }
            return .done(greeting: greeting)
        case .awaitingSTARTTLS(let greeting):
            guard reply.code == 220 else {
                state = .finished
                if mode == .starttlsRequired { return .fail("upstream refused STARTTLS: \(reply)") }
                return .done(greeting: greeting)
            }
            state = .handshaking(greeting: greeting)
            return .startHandshake
        case .handshaking, .finished:
            return .fail("unexpected upstream reply during TLS negotiation: \(reply)")
        }
    }

    /// The upstream TLS handshake completed.
    public mutating func handshakeCompleted() -> Action {
        guard case .handshaking(let greeting) = state else { return .fail("handshake out of turn") }
        state = .finished
        return .done(greeting: greeting)
    }
}
