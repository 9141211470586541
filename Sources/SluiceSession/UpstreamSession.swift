import NIOCore
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

/// The dialogue with the upstream, as a state machine that returns actions: connect, greeting,
/// Sluice's own EHLO + STARTTLS + handshake when configured, then the client's commands relayed one at a
/// time, the message, and QUIT. It keeps its deadline as a value (`tick` turns an overdue one into a
/// timeout), answers the reply of its own RSET itself, and knows when a QUIT is owed. No socket, no clock.
public struct UpstreamSession: Sendable {
    public struct Settings: Hashable, Sendable {
        public var hostname: String
        public var tlsMode: UpstreamTLSMode
        public var timeouts: UpstreamTimeouts
        /// Introduce the real client with XCLIENT or XFORWARD when the upstream offers them.
        public var introduce: Bool
        /// What earlier connections found the upstream to offer.
        public var support: IntroductionSupport

        public init(hostname: String, tlsMode: UpstreamTLSMode = .none, timeouts: UpstreamTimeouts = UpstreamTimeouts(),
                    introduce: Bool = false, support: IntroductionSupport = IntroductionSupport()) {
            self.hostname = hostname
            self.tlsMode = tlsMode
            self.timeouts = timeouts
            self.introduce = introduce
            self.support = support
        }
    }

    /// What the client session asks to go upstream.
    public enum Request: Hashable, Sendable {
        case command(SMTPCommand)
        /// One AUTH response line, verbatim (never logged).
        case authResponse(String)
        /// The message after the upstream's 354, as the plan says (boxed: requests stay small).
        indirect case message(MessagePlan)
        /// Close the upstream's transaction; its reply is not relayed.
        case reset
        /// The client's HELO or EHLO, with the real client to introduce first (XCLIENT) or before each
        /// MAIL (XFORWARD) when the upstream offers that.
        indirect case greet(SMTPCommand, ClientIntroduction)
    }

    public enum Action: Hashable, Sendable {
        /// Write this command line.
        case send(SMTPCommand)
        /// Write this AUTH response line verbatim.
        case sendAuthResponse(String)
        /// Write the plan's prefix, the spooled message and the final dot.
        indirect case sendMessage(MessagePlan)
        /// Add the TLS handler (client side) to the connection.
        case startTLS
        /// Give this reply to the client session.
        case deliver(SMTPReply)
        /// The upstream cannot be used any more: tell the client session.
        case fail(UpstreamFailure)
        /// Write QUIT, then close (bounded by the command timeout).
        case quit
        /// Close the connection now.
        case close
        /// The upstream was found to offer (or not) XCLIENT and XFORWARD: later connections need not ask.
        case learned(IntroductionSupport)
    }

    enum Negotiation: Hashable, Sendable { case ehlo, startTLS, handshake }

    enum Outstanding: Hashable, Sendable {
        case relayed
        case reset
        case quit
        /// A relayed HELO or EHLO (its reply says what the upstream offers).
        case relayedGreeting
        /// Sluice's own EHLO, to learn what the upstream offers; then the request.
        indirect case probe(Request)
        /// Sluice's XCLIENT or XFORWARD (its reply is not relayed); then the request.
        indirect case introduction(Request)
        /// Sluice's XFORWARD, pipelined with the MAIL already sent: its reply is not relayed, the
        /// next one is the MAIL's.
        case pipelinedIntroduction
    }

    enum State: Hashable, Sendable {
        case connecting
        case awaitingGreeting
        /// Sluice's own EHLO and STARTTLS; the greeting reaches the client session once TLS is up.
        case negotiating(Negotiation, greeting: SMTPReply)
        case ready
        case awaiting(Outstanding)
        case closed
    }

    public let settings: Settings
    var state: State = .connecting
    /// Requests that arrived while a reply was awaited (behind Sluice's own RSET, as a rule).
    var queue: [Request] = []
    /// When the awaited reply is overdue (nil: nothing awaited).
    public private(set) var deadline: NIODeadline?
    /// What this upstream offers, as far as known.
    var support: IntroductionSupport
    /// The XCLIENT attributes the upstream accepted on this connection (it now sees that client).
    var introducedAs: [XClientAttribute]?
    /// XFORWARD attributes to send before each MAIL (an upstream with XFORWARD but not XCLIENT).
    var forwardAs: [XClientAttribute]?

    public init(settings: Settings) {
        self.settings = settings
        self.support = settings.support
    }

    /// Whether the connection can still carry commands (the session has not closed or failed it).
    public var isUsable: Bool { !isClosed }

    /// (Matched, not compared: `==` on a state with payloads copies them.)
    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The connection is being opened: the greeting must come within the connect timeout.
    public mutating func connecting(now: NIODeadline) {
        state = .connecting
        arm(settings.timeouts.connect, now)
    }

    /// The connection is open (for implicit TLS, the TLS handler is in place): the greeting comes next.
    public mutating func connected() {
        if case .connecting = state { state = .awaitingGreeting }
    }

    public mutating func received(_ reply: SMTPReply, now: NIODeadline) -> [Action] {
        switch state {
        case .connecting, .awaitingGreeting:
            deadline = nil
            guard reply.code == 220, settings.tlsMode == .starttls || settings.tlsMode == .starttlsRequired else {
                state = .ready
                return [.deliver(reply)] // a refusing upstream is answered by the client session
            }
            state = .negotiating(.ehlo, greeting: reply)
            arm(settings.timeouts.command, now)
            return [.send(.ehlo(settings.hostname))]
        case .negotiating(.ehlo, let greeting):
            deadline = nil
            if EHLOCapabilities.offersSTARTTLS(in: reply) {
                state = .negotiating(.startTLS, greeting: greeting)
                arm(settings.timeouts.command, now)
                return [.send(.startTLS)]
            }
            if settings.tlsMode == .starttlsRequired { return fail(.protocolError("upstream does not offer STARTTLS")) }
            return deliverGreeting(greeting)
        case .negotiating(.startTLS, let greeting):
            deadline = nil
            guard reply.code == 220 else {
                if settings.tlsMode == .starttlsRequired { return fail(.protocolError("upstream refused STARTTLS: \(reply)")) }
                return deliverGreeting(greeting)
            }
            state = .negotiating(.handshake, greeting: greeting)
            arm(settings.timeouts.connect, now)
            return [.startTLS]
        case .negotiating(.handshake, _):
            return fail(.protocolError("unexpected upstream reply during TLS negotiation: \(reply)"))
        case .awaiting(.probe(let request)):
            deadline = nil
            state = .ready
            let learned = learn(reply.isPositiveCompletion ? IntroductionSupport(ehlo: reply, known: support)
                                                           : IntroductionSupport(xclient: false, xforward: false, xclientRefused: support.xclientRefused))
            return learned + send(request, now: now)
        case .awaiting(.introduction(let request)):
            deadline = nil
            state = .ready
            guard case .greet(let command, let introduction) = request else {
                return send(request, now: now, introduced: true) // XFORWARD answered: now the MAIL
            }
            if reply.code == 220 {
                introducedAs = introduction.xclient
            } else if introducedAs == nil {
                // Offered but refused (Sluice's address is not authorised): plan again without XCLIENT.
                return learn(IntroductionSupport(xclient: false, xforward: support.xforward ?? false, xclientRefused: true)) + send(request, now: now)
            }
            return send(.command(command), now: now, greeting: true)
        case .awaiting(.pipelinedIntroduction):
            state = .awaiting(.relayed) // the MAIL's reply comes next, under the same deadline
            return []
        case .awaiting(let outstanding):
            deadline = nil
            state = .ready
            let delivered: [Action] = outstanding == .reset ? [] : [.deliver(reply)]
            guard outstanding != .quit else { state = .closed; return delivered }
            var learned: [Action] = []
            if outstanding == .relayedGreeting, settings.introduce, introducedAs == nil, reply.isPositiveCompletion {
                // What the client's EHLO reply says the upstream offers now (it may change its mind).
                var seen = IntroductionSupport(ehlo: reply, known: support)
                if reply.lines.count == 1 { seen = support } // HELO: no capabilities in the reply
                learned = learn(seen)
            }
            return learned + delivered + next(now: now)
        case .ready, .closed:
            // Unsolicited (a 421 before the upstream hangs up): the close that follows is what counts.
            return []
        }
    }

    /// The upstream's TLS handshake completed.
    public mutating func handshakeCompleted() -> [Action] {
        guard case .negotiating(.handshake, let greeting) = state else { return [] }
        return deliverGreeting(greeting)
    }

    /// The client session wants this to go upstream: now, or after the reply that is awaited.
    public mutating func relay(_ request: Request, now: NIODeadline) -> [Action] {
        switch state {
        case .ready:
            return send(request, now: now)
        case .closed:
            return [.fail(.closed)]
        case .connecting, .awaitingGreeting, .negotiating, .awaiting:
            queue.append(request)
            return []
        }
    }

    /// The connection failed or closed on its own.
    public mutating func connectionLost(_ failure: UpstreamFailure) -> [Action] {
        guard !isClosed else { return [] }
        state = .closed
        deadline = nil
        queue = []
        return [.fail(failure)]
    }

    /// The client session ended: a connection that still works gets a polite QUIT (unless the client's
    /// own QUIT already went), else it is closed (closing one already closed is harmless).
    public mutating func close() -> [Action] {
        let owesQuit: Bool
        switch state {
        case .closed, .awaiting(.quit), .connecting: owesQuit = false
        default: owesQuit = true
        }
        state = .closed
        deadline = nil
        queue = []
        return [owesQuit ? .quit : .close]
    }

    /// The clock looked: an awaited reply that is overdue is a timeout.
    public mutating func tick(now: NIODeadline) -> [Action] {
        guard let deadline, now >= deadline, !isClosed else { return [] }
        self.deadline = nil
        return fail(.timedOut)
    }

    // MARK: Helpers

    private mutating func send(_ request: Request, now: NIODeadline, greeting: Bool = false, introduced: Bool = false) -> [Action] {
        switch request {
        case .greet(let command, let introduction):
            guard settings.introduce else { return send(.command(command), now: now, greeting: true) }
            forwardAs = nil
            if introducedAs == introduction.xclient { return send(.command(command), now: now, greeting: true) }
            guard support.isKnown || introducedAs != nil else {
                // Not known yet: Sluice's own EHLO first (the client's EHLO resets the upstream after it).
                state = .awaiting(.probe(request))
                arm(settings.timeouts.command, now)
                return [.send(.ehlo(settings.hostname))]
            }
            if support.xclient == true {
                state = .awaiting(.introduction(request))
                arm(settings.timeouts.command, now)
                return [.send(.xclient(introduction.xclient))]
            }
            if support.xforward == true { forwardAs = introduction.xforward }
            return send(.command(command), now: now, greeting: true)
        case .command(let command):
            if case .mail = command, let forwardAs, !introduced {
                arm(settings.timeouts.command, now)
                if support.pipelining {
                    state = .awaiting(.pipelinedIntroduction)
                    return [.send(.xforward(forwardAs)), .send(command)]
                }
                state = .awaiting(.introduction(request))
                return [.send(.xforward(forwardAs))]
            }
            state = .awaiting(command == .quit ? .quit : greeting ? .relayedGreeting : .relayed)
            arm(settings.timeouts.command, now)
            return [.send(command)]
        case .authResponse(let line):
            state = .awaiting(.relayed)
            arm(settings.timeouts.command, now)
            return [.sendAuthResponse(line)]
        case .message(let plan):
            state = .awaiting(.relayed)
            arm(settings.timeouts.endOfData, now)
            return [.sendMessage(plan)]
        case .reset:
            state = .awaiting(.reset)
            arm(settings.timeouts.command, now)
            return [.send(.rset)]
        }
    }

    /// Records what the upstream offers; later connections hear of it only when it changed.
    private mutating func learn(_ seen: IntroductionSupport) -> [Action] {
        guard seen != support else { return [] }
        support = seen
        return [.learned(seen)]
    }

    private mutating func next(now: NIODeadline) -> [Action] {
        guard case .ready = state, !queue.isEmpty else { return [] }
        return send(queue.removeFirst(), now: now)
    }

    private mutating func deliverGreeting(_ greeting: SMTPReply) -> [Action] {
        state = .ready
        deadline = nil
        return [.deliver(greeting)]
    }

    /// The upstream cannot be used as configured, or did not answer in time: report it and close.
    private mutating func fail(_ failure: UpstreamFailure) -> [Action] {
        state = .closed
        deadline = nil
        queue = []
        return [.fail(failure), .close]
    }

    private mutating func arm(_ seconds: Double, _ now: NIODeadline) {
        deadline = now + .nanoseconds(Int64(seconds * 1e9))
    }
}
