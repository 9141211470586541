import SluicePolicy
import SluiceSMTP

/// The dialogue with one client, as a state machine that returns actions.
///
/// It answers sequence errors itself, asks the policy pipeline at every stage (and waits in one state
/// until it decides), forwards accepted commands upstream one at a time (so pipelined replies come back
/// in order), relays the upstream's replies, and never lets a `250` for a message reach the client
/// unless the upstream gave it. It holds no socket and no clock: the handler feeds it events and
/// carries out what it returns.
public struct ClientSession: Sendable {
    enum Phase: Hashable, Sendable {
        case fresh
        case greeted(Greeting)
        case transaction(Greeting, Transaction)

        var greeting: Greeting? {
            switch self {
            case .fresh: return nil
            case .greeted(let greeting), .transaction(let greeting, _): return greeting
            }
        }
    }

    /// The command whose upstream reply is awaited.
    enum Pending: Hashable, Sendable {
        case helo(Greeting)
        case mail(ReversePath, ESMTPParameters, tags: [String], discard: Bool, authentication: Authentication)
        case rcpt(ForwardPath)
        case rset
        case quit
        case other
        /// An AUTH exchange: the mechanism and the client's responses so far (to learn the user name).
        case auth(mechanism: String, responses: [String])
    }

    /// What waits for the policy pipeline's decision.
    enum PolicyWait: Hashable, Sendable {
        case connect
        case helo(SMTPCommand, Greeting)
        /// The connect stage again, for the client an XCLIENT named.
        case xclient
        case mail(SMTPCommand, ReversePath, ESMTPParameters)
        case rcpt(SMTPCommand, ForwardPath)
        case data
        /// The whole message, after its final dot.
        case message(size: Int)
    }

    enum State: Hashable, Sendable {
        case new
        /// `limit greet-delay`: the connect stage let the client in; Sluice waits before greeting it.
        case delayingGreeting
        case awaitingGreeting
        case ready(Phase)
        /// The policy pipeline decides; nothing is read from the client meanwhile.
        case awaitingPolicy(Phase, PolicyWait)
        case awaitingReply(Phase, Pending)
        case receivingData(Greeting, Transaction)
        case awaitingDataReply(Greeting, Transaction, size: Int)
        case awaitingFinalReply(Greeting, Transaction, size: Int)
        /// `bcc` / `redirect`: the commands that give the upstream the message's recipients (a MAIL after
        /// a reset for a redirect, then RCPTs), one at a time, each reply Sluice's own; then DATA.
        case routingMessage(Greeting, Transaction, size: Int, commands: [SMTPCommand], recipients: [ForwardPath])
        /// The upstream failed mid-session: only QUIT is answered (221), anything else gets 421.
        case upstreamGone
        case closed
        /// The upstream sent 334: the client's next line is an AUTH response, not a command.
        case authenticating(Phase, mechanism: String, responses: [String])
    }

    public let configuration: SessionConfiguration
    var state: State = .new
    /// Who the client is (its name and TLS details are learned as the session goes).
    public internal(set) var client: ClientIdentity
    var errors = 0
    var upstreamAlive = true
    var closeAfterReply = false
    /// What lasts the session: tags and a discard set at connect and helo, and who authenticated.
    var sessionTags: Set<String> = []
    var sessionDiscard = false
    public internal(set) var authUser: String?
    /// What the upstream's EHLO reply said: its AUTH mechanisms and its SIZE (0 or nil: no limit of its own).
    var upstreamAuth: String?
    var upstreamSize: Int?
    /// The message decision's header edits and parsed header, for the plan of the message.
    var pendingEdits: (edits: [HeaderEdit], header: MessageHeader?, traceFields: [HeaderField]) = ([], nil, [])

    /// The client side is encrypted (after STARTTLS, or from the start on an implicit-TLS listener).
    public private(set) var tlsActive: Bool
    /// MAIL is refused until TLS is active (`limit tls-required`, `listen … tls-required`).
    public let tlsRequired: Bool
    /// Messages the upstream accepted in this session, and transactions it opened (`messages-per-session`).
    public private(set) var delivered = 0
    var transactionsStarted = 0
    /// The greeting the client got (an XCLIENT gets it again).
    var greetingReply: SMTPReply?

    public init(configuration: SessionConfiguration, client: ClientIdentity, tlsActive: Bool = false, tlsRequired: Bool = false) {
        self.configuration = configuration
        self.client = client
        self.tlsActive = tlsActive
        self.tlsRequired = tlsRequired
    }

    public init(configuration: SessionConfiguration, clientAddress: String = "127.0.0.1", tlsActive: Bool = false,
                tlsRequired: Bool = false) {
        self.init(configuration: configuration, client: ClientIdentity(address: clientAddress), tlsActive: tlsActive, tlsRequired: tlsRequired)
    }

    /// What client input the session can take now.
    public enum InputMode: Hashable, Sendable { case none, command, data, authResponse }

    public var inputMode: InputMode {
        switch state {
        case .ready, .upstreamGone: return .command
        case .authenticating: return .authResponse
        case .receivingData: return .data
        default: return .none
        }
    }

    /// (Matched, not compared: `==` on a state with payloads copies them.)
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }
    public var clientAddress: String { client.address }

    /// Whether the client has been greeted (before that, RFC 5321 §3.1 says it must not send).
    public var hasGreeted: Bool {
        switch state {
        case .new, .delayingGreeting, .awaitingGreeting: return false
        case .awaitingPolicy(.fresh, .connect): return false
        default: return true
        }
    }

    /// The message size enforced and advertised: Sluice's limit, or the upstream's if smaller.
    public var messageSizeLimit: Int {
        if let upstreamSize, upstreamSize > 0 { return min(upstreamSize, configuration.limits.messageSize) }
        return configuration.limits.messageSize
    }

    var hostname: String { configuration.hostname }

    /// The client's TLS handshake completed (`TLSv1.3 with cipher …`, for the trace header).
    public mutating func tlsEstablished(_ description: String) {
        client.tls = description
    }

    // MARK: Upstream events

    public mutating func upstreamReplied(_ reply: SMTPReply) -> [SessionAction] {
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else {
                state = .closed
                return [.reply(.upstreamUnavailable(hostname)), .close(.upstream)]
            }
            state = .ready(.fresh)
            greetingReply = greeting(from: reply)
            return [.reply(greetingReply!)]

        case .awaitingReply(let phase, let pending):
            return finishPending(pending, in: phase, with: reply)

        case .awaitingDataReply(let greeting, let transaction, let size):
            guard reply.code == 354 else {
                // The upstream refused DATA: that is the answer to the client's final dot.
                state = .ready(.greeted(greeting))
                return [.reply(reply), .discardMessage,
                        .outcome(TransactionOutcome(status: reply.isTransientFailure ? .failed : .refused, greeting: greeting,
                                                    transaction: transaction, size: size, reply: reply)),
                        .resetUpstream] + closeIfDraining()
            }
            state = .awaitingFinalReply(greeting, transaction, size: size)
            return [.sendMessage(MessagePlan(hostname: hostname, client: client, greeting: greeting, recipients: transaction.recipients,
                                             headerEdits: pendingEdits.edits, header: pendingEdits.header,
                                             traceFields: pendingEdits.traceFields))]

        case .routingMessage(let greeting, let transaction, let size, let commands, let recipients):
            return routed(reply, greeting, transaction, size: size, commands: commands, recipients: recipients)

        case .awaitingFinalReply(let greeting, let transaction, let size):
            state = .ready(.greeted(greeting))
            pendingEdits = ([], nil, [])
            let status: TransactionOutcome.Status = reply.isPositiveCompletion ? .delivered : reply.isTransientFailure ? .failed : .refused
            if status == .delivered { delivered += 1 }
            var actions: [SessionAction] = [.reply(reply), .discardMessage,
                                            .outcome(TransactionOutcome(status: status, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            actions += closeIfDraining()
            return actions

        case .new, .delayingGreeting, .ready, .awaitingPolicy, .receivingData, .authenticating, .upstreamGone, .closed:
            // Unsolicited (a 421 before the upstream hangs up): the close that follows is what counts.
            return []
        }
    }

    // MARK: Client events

    public mutating func received(_ command: SMTPCommand) -> [SessionAction] {
        if case .upstreamGone = state {
            state = .closed
            if command == .quit { return [.reply(.serviceClosing(hostname)), .close(.quit)] }
            return [.reply(.upstreamLost(hostname)), .close(.upstream)]
        }
        guard case .ready(let phase) = state else { return [] }

        switch command {
        case .helo(let name), .ehlo(let name):
            let greeting = Greeting(name: name, extended: { if case .ehlo = command { return true } else { return false } }())
            var facts = baseFacts(.fresh)
            facts.helo = name
            return ask(.helo, facts, phase, .helo(command, greeting))

        case .mail(let path, let parameters):
            switch phase {
            case .fresh: return error(.needHelo)
            case .transaction: return error(.nestedMail)
            case .greeted:
                if tlsRequired && !tlsActive { return error(.tlsRequired) }
                let messageLimit = configuration.limits.messagesPerSession
                if messageLimit > 0, transactionsStarted >= messageLimit {
                    state = .closed
                    return [.reply(.tooManyMessages(hostname)), .close(.limit)]
                }
                let declaredSize = parameters.size
                if let declaredSize, declaredSize > messageSizeLimit { return error(.declaredSizeTooBig) }
                var facts = baseFacts(phase)
                facts.sender = path
                facts.size = declaredSize
                return ask(.mail, facts, phase, .mail(command, path, parameters))
            }

        case .rcpt(let path, _):
            guard case .transaction(let greeting, var transaction) = phase else { return error(.needMail) }
            if transaction.recipients.count >= configuration.limits.recipients {
                transaction.refusedRecipients += 1
                state = .ready(.transaction(greeting, transaction))
                return error(.tooManyRecipients)
            }
            var facts = baseFacts(phase)
            facts.recipient = path
            return ask(.rcpt, facts, phase, .rcpt(command, path))

        case .data:
            guard case .transaction(let greeting, let transaction) = phase else { return error(.needMail) }
            guard !transaction.recipients.isEmpty else { return error(.needRecipient) }
            if let deferral = transaction.deferral {
                // Per-message greylisting: one 4xx for the whole message, at DATA.
                var cleared = transaction
                cleared.deferral = nil
                state = .ready(.transaction(greeting, cleared))
                return countError(deferral.reply)
            }
            return ask(.data, baseFacts(phase), phase, .data, recipients: transaction.recipients)

        case .rset:
            return forward(command, phase, .rset)
        case .quit:
            return forward(command, phase, .quit)
        case .noop, .vrfy, .help:
            return forward(command, phase, .other)
        case .startTLS:
            guard configuration.tlsAvailable else { return error(.commandNotImplemented) }
            guard !tlsActive else { return error(.tlsAlreadyActive) }
            // RFC 3207: the session starts over; a new EHLO is required. The upstream keeps its
            // connection and hears the client's next EHLO (which resets it).
            tlsActive = true
            state = .ready(.fresh)
            return [.reply(.readyToStartTLS), .startTLS]
        case .auth(let arguments):
            guard upstreamAuth != nil else { return error(.commandNotImplemented) }
            guard tlsActive || configuration.allowPlaintextAuth else { return error(.encryptionRequiredForAuth) }
            switch phase {
            case .fresh: return error(.needHelo)
            case .transaction: return error(.authInTransaction)
            case .greeted:
                guard authUser == nil else { return error(.alreadyAuthenticated) }
                let words = arguments.split(separator: " ")
                let mechanism = words.first.map { $0.uppercased() } ?? ""
                return forward(command, phase, .auth(mechanism: mechanism, responses: words.count > 1 ? [String(words[1])] : []))
            }
        case .xclient(let attributes):
            return xclient(attributes, phase)
        case .expn, .bdat, .xforward:
            return error(.commandNotImplemented)
        case .unknown:
            return error(.unknownCommand)
        }
    }

    /// One line of an AUTH exchange (base64, or `*` to cancel): relayed verbatim, never parsed or logged.
    public mutating func receivedAuthResponse(_ line: String) -> [SessionAction] {
        guard case .authenticating(let phase, let mechanism, let responses) = state else { return [] }
        state = .awaitingReply(phase, .auth(mechanism: mechanism, responses: responses + [line]))
        return [.forwardAuthResponse(line)]
    }

    /// A command line that could not be parsed (`501`).
    public mutating func receivedInvalid(_ parseError: CommandParser.Error) -> [SessionAction] {
        guard inputMode == .command else { return [] }
        return error(.syntaxError(parseError.detail))
    }

    /// A command line the framer refused (`500 5.5.2`).
    public mutating func receivedFault(_ fault: CommandLineFramer.Fault) -> [SessionAction] {
        guard inputMode == .command else { return [] }
        switch fault {
        case .tooLong: return error(.commandLineTooLong)
        case .bareLF: return error(.bareLineFeedInCommand)
        case .bareCR: return error(.bareCarriageReturnInCommand)
        case .nul: return error(.nulInCommand)
        }
    }

    // MARK: Helpers

    mutating func forward(_ command: SMTPCommand, _ phase: Phase, _ pending: Pending) -> [SessionAction] {
        state = .awaitingReply(phase, pending)
        return [.forward(command)]
    }

    mutating func finishPending(_ pending: Pending, in phase: Phase, with reply: SMTPReply) -> [SessionAction] {
        var next = phase
        var relayed = reply
        switch pending {
        case .helo(let greeting):
            if reply.isPositiveCompletion {
                next = .greeted(greeting)
                if greeting.extended {
                    upstreamSize = EHLOCapabilities.upstreamSize(in: reply)
                    upstreamAuth = EHLOCapabilities.authMechanisms(in: reply)
                    relayed = EHLOCapabilities.filter(reply, hostname: hostname, messageSize: messageSizeLimit,
                                                      offerSTARTTLS: configuration.tlsAvailable && !tlsActive,
                                                      offerAuth: tlsActive || configuration.allowPlaintextAuth,
                                                      offerXCLIENT: mayUseXCLIENT)
                }
            }
        case .mail(let path, let parameters, let tags, let discard, let authentication):
            if reply.isPositiveCompletion, let greeting = phase.greeting {
                transactionsStarted += 1
                var transaction = Transaction(sender: path, parameters: parameters)
                transaction.tags = Set(tags)
                transaction.discard = discard
                transaction.authentication = authentication
                next = .transaction(greeting, transaction)
            }
        case .rcpt(let path):
            if case .transaction(let greeting, var transaction) = phase {
                if reply.isPositiveCompletion { transaction.appendRecipient(path) } else { transaction.refusedRecipients += 1 }
                next = .transaction(greeting, transaction)
            }
        case .rset:
            if reply.isPositiveCompletion, let greeting = phase.greeting { next = .greeted(greeting) }
        case .quit:
            state = .closed
            return [.reply(reply), .close(.quit)]
        case .other:
            break
        case .auth(let mechanism, let responses):
            if reply.code == 334 {
                state = .authenticating(phase, mechanism: mechanism, responses: responses)
                return [.reply(reply)]
            }
            if reply.code == 235 {
                authUser = AuthUser.name(mechanism: mechanism, responses: responses) ?? ""
            }
        }
        state = .ready(next)
        var actions: [SessionAction]
        if reply.code >= 400 { actions = countError(relayed) } else { actions = [.reply(relayed)] }
        if !isClosed { actions += closeIfDraining() }
        return actions
    }

    mutating func error(_ reply: SMTPReply) -> [SessionAction] {
        countError(reply)
    }

    /// Replies with an error and closes the session once the client made more than `limits.errors`.
    mutating func countError(_ reply: SMTPReply) -> [SessionAction] {
        errors += 1
        guard errors > configuration.limits.errors else { return [.reply(reply)] }
        state = .closed
        return [.reply(reply), .reply(.tooManyErrors(hostname)), .close(.errors)]
    }

    mutating func closeIfDraining() -> [SessionAction] {
        guard closeAfterReply, !isClosed else { return [] }
        state = .closed
        return [.reply(.shuttingDown(hostname)), .close(.shutdown)]
    }
}
