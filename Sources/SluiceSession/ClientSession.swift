import SluicePolicy
import SluiceSMTP

/// The dialogue with one client, as a state machine that returns actions.
///
/// It answers sequence errors itself, forwards accepted commands upstream one at a time (so pipelined
/// replies come back in order), relays the upstream's replies, and never lets a `250` for a message
/// reach the client unless the upstream gave it. It holds no socket and no clock: the handler feeds it
/// events and carries out what it returns.
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

    enum Pending: Hashable, Sendable {
        case helo(Greeting)
        case mail(ReversePath, ESMTPParameters, tags: [String], discard: Bool)
        case rcpt(ForwardPath)
        case rset
        case quit
        case other
        /// An AUTH exchange: the mechanism and the client's responses so far (to learn the user name).
        case auth(mechanism: String, responses: [String])
        /// An RSET Sluice sent on its own to close the upstream's transaction; its reply is not relayed.
        case internalReset
    }

    enum GreylistWait: Hashable, Sendable {
        case rcpt(SMTPCommand, ForwardPath)
        case data
    }

    enum State: Hashable, Sendable {
        case awaitingGreeting
        case ready(Phase)
        case awaitingReply(Phase, Pending)
        case receivingData(Greeting, Transaction)
        /// The content rules run off the event loop.
        case inspecting(Greeting, Transaction, size: Int)
        /// The greylist store is being asked, for a RCPT (per-recipient or per-message) or for DATA.
        case awaitingGreylist(Greeting, Transaction, GreylistWait)
        case awaitingDataReply(Greeting, Transaction, size: Int)
        case awaitingFinalReply(Greeting, Transaction, size: Int)
        /// The upstream failed mid-session: only QUIT is answered (221), anything else gets 421.
        case upstreamGone
        case closed
        /// The upstream sent 334: the client's next line is an AUTH response, not a command.
        case authenticating(Phase, mechanism: String, responses: [String])
    }

    public let configuration: SessionConfiguration
    var state: State = .awaitingGreeting
    var errors = 0
    var upstreamAlive = true
    var closeAfterReply = false
    /// The client's address as text (for rules and the trace header).
    public let clientAddress: String
    /// `clientAddress` parsed once, for the rules.
    let clientIP: IPAddress?
    /// The client's reverse DNS name, when rules asked for it and it was found.
    var clientName: String?
    var resolvingName = false
    /// Tags set at connect and helo: they last the session.
    var sessionTags: Set<String> = []
    /// A discard at connect or helo: every message of the session is discarded.
    var sessionDiscard = false
    /// The upstream's AUTH mechanisms (from its EHLO reply), and who authenticated.
    var upstreamAuth: String?
    public private(set) var authUser: String?
    /// Header edits decided by content rules, applied when the message goes upstream.
    var pendingEdits: [HeaderEdit] = []
    /// The SIZE the upstream advertised (0 or nil: no limit of its own).
    var upstreamSize: Int?

    /// The client side is encrypted (after STARTTLS, or from the start on an implicit-TLS listener).
    public private(set) var tlsActive: Bool
    /// MAIL is refused until TLS is active (`limit tls-required`, `listen … tls-required`).
    public let tlsRequired: Bool

    public init(configuration: SessionConfiguration, clientAddress: String = "127.0.0.1", tlsActive: Bool = false,
                tlsRequired: Bool = false) {
        self.configuration = configuration
        self.clientAddress = clientAddress
        self.clientIP = IPAddress(clientAddress)
        self.tlsActive = tlsActive
        self.tlsRequired = tlsRequired
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

    public var isClosed: Bool { state == .closed }

    /// The message size enforced and advertised: Sluice's limit, or the upstream's if smaller.
    public var messageSizeLimit: Int {
        if let upstreamSize, upstreamSize > 0 { return min(upstreamSize, configuration.limits.messageSize) }
        return configuration.limits.messageSize
    }

    var hostname: String { configuration.hostname }

    // MARK: Upstream events

    public mutating func upstreamReplied(_ reply: SMTPReply) -> [SessionAction] {
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else {
                state = .closed
                return [.reply(.upstreamUnavailable(hostname)), .close]
            }
            state = .ready(.fresh)
            return [.reply(greeting(from: reply))]

        case .awaitingReply(let phase, let pending):
            return finishPending(pending, in: phase, with: reply)

        case .awaitingDataReply(let greeting, let transaction, let size):
            guard reply.code == 354 else {
                // The upstream refused DATA: that is the answer to the client's final dot.
                state = .awaitingReply(.greeted(greeting), .internalReset)
                return [.reply(reply), .discardMessage,
                        .outcome(TransactionOutcome(status: reply.isTransientFailure ? .failed : .refused, greeting: greeting,
                                                    transaction: transaction, size: size, reply: reply)),
                        .forward(.rset, .command)]
            }
            state = .awaitingFinalReply(greeting, transaction, size: size)
            return [.sendMessage(greeting: greeting, transaction: transaction, headerEdits: pendingEdits)]

        case .awaitingFinalReply(let greeting, let transaction, let size):
            state = .ready(.greeted(greeting))
            let status: TransactionOutcome.Status = reply.isPositiveCompletion ? .delivered : reply.isTransientFailure ? .failed : .refused
            var actions: [SessionAction] = [.reply(reply), .discardMessage,
                                            .outcome(TransactionOutcome(status: status, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            actions += closeIfDraining()
            return actions

        case .ready, .receivingData, .inspecting, .awaitingGreylist, .authenticating, .upstreamGone, .closed:
            // Unsolicited (a 421 before the upstream hangs up): the close that follows is what counts.
            return []
        }
    }

    // MARK: Client events

    public mutating func received(_ command: SMTPCommand) -> [SessionAction] {
        if case .upstreamGone = state {
            state = .closed
            if command == .quit { return [.reply(.serviceClosing(hostname)), .close] }
            return [.reply(.upstreamLost(hostname)), .close]
        }
        guard case .ready(let phase) = state else { return [] }

        switch command {
        case .helo(let name), .ehlo(let name):
            let greeting = Greeting(name: name, extended: { if case .ehlo = command { return true } else { return false } }())
            switch decide(.helo, { session in
                var facts = session.baseFacts(.fresh)
                facts.helo = name
                return facts
            }) {
            case .answer(let actions): return actions
            case .greylist(let tags, let log): // only possible at rcpt and data (refused at load)
                sessionTags.formUnion(tags)
                return log.then(forward(command, phase, .helo(greeting)))
            case .relay(let tags, let discard, let log):
                sessionTags.formUnion(tags)
                sessionDiscard = sessionDiscard || discard
                return log.then(forward(command, phase, .helo(greeting)))
            }

        case .mail(let path, let parameters):
            switch phase {
            case .fresh: return error(.needHelo)
            case .transaction: return error(.nestedMail)
            case .greeted:
                if tlsRequired && !tlsActive { return error(.tlsRequired) }
                if let size = parameters.size, size > messageSizeLimit { return error(.declaredSizeTooBig) }
                switch decide(.mail, { session in
                    var facts = session.baseFacts(phase)
                    facts.sender = path
                    facts.size = parameters.size
                    return facts
                }) {
                case .answer(let actions): return actions
                case .greylist(let tags, let log): // only possible at rcpt and data (refused at load)
                    return log.then(forward(command, phase, .mail(path, parameters, tags: tags, discard: sessionDiscard)))
                case .relay(let tags, let discard, let log):
                    return log.then(forward(command, phase, .mail(path, parameters, tags: tags, discard: discard || sessionDiscard)))
                }
            }

        case .rcpt(let path, _):
            guard case .transaction(let greeting, var transaction) = phase else { return error(.needMail) }
            if transaction.recipients.count >= configuration.limits.recipients {
                transaction.refusedRecipients += 1
                state = .ready(.transaction(greeting, transaction))
                return error(.tooManyRecipients)
            }
            switch decide(.rcpt, { session in
                var facts = session.baseFacts(phase)
                facts.recipient = path
                return facts
            }) {
            case .answer(let actions):
                if case .ready(.transaction(let greeting, var transaction)) = state {
                    transaction.refusedRecipients += 1
                    state = .ready(.transaction(greeting, transaction))
                }
                return actions
            case .relay(let tags, let discard, let log):
                var transaction = transaction
                transaction.tags.formUnion(tags)
                transaction.discard = transaction.discard || discard
                return log.then(forward(command, .transaction(greeting, transaction), .rcpt(path)))
            case .greylist(let tags, let log):
                var transaction = transaction
                transaction.tags.formUnion(tags)
                guard let key = greylistKey(transaction, path) else { return log.then(forward(command, .transaction(greeting, transaction), .rcpt(path))) }
                state = .awaitingGreylist(greeting, transaction, .rcpt(command, path))
                return log.then([.checkGreylist([key])])
            }

        case .data:
            guard case .transaction(let greeting, let transaction) = phase else { return error(.needMail) }
            guard !transaction.recipients.isEmpty else { return error(.needRecipient) }
            if let retryAfter = transaction.greylistRetryAfter {
                // Per-message greylisting: one 4xx for the whole message, at DATA.
                var cleared = transaction
                cleared.greylistRetryAfter = nil
                state = .ready(.transaction(greeting, cleared))
                return countError(Greylist.reply(retryAfter, settings: configuration.greylist))
            }
            var dataTransaction = transaction
            switch decide(.data, { $0.baseFacts(phase) }) {
            case .answer(let actions): return actions
            case .greylist(let tags, let log):
                dataTransaction.tags.formUnion(tags)
                let keys = dataTransaction.recipients.compactMap { greylistKey(dataTransaction, $0) }
                state = .awaitingGreylist(greeting, dataTransaction, .data)
                return log.then([.checkGreylist(keys)])
            case .relay(let tags, let discard, let log):
                dataTransaction.tags.formUnion(tags)
                dataTransaction.discard = dataTransaction.discard || discard
                state = .receivingData(greeting, dataTransaction)
                return log.then([.reply(.startMailInput), .receiveData])
            }

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
        case .expn, .bdat:
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
        return [.forward(command, .command)]
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
                                                      offerAuth: tlsActive || configuration.allowPlaintextAuth)
                }
            }
        case .mail(let path, let parameters, let tags, let discard):
            if reply.isPositiveCompletion, let greeting = phase.greeting {
                var transaction = Transaction(sender: path, parameters: parameters)
                transaction.tags = Set(tags)
                transaction.discard = discard
                next = .transaction(greeting, transaction)
            }
        case .rcpt(let path):
            if case .transaction(let greeting, var transaction) = phase {
                if reply.isPositiveCompletion { transaction.recipients.append(path) } else { transaction.refusedRecipients += 1 }
                next = .transaction(greeting, transaction)
            }
        case .rset:
            if reply.isPositiveCompletion, let greeting = phase.greeting { next = .greeted(greeting) }
        case .quit:
            state = .closed
            return [.reply(reply), .close]
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
        case .internalReset:
            state = .ready(phase)
            return closeIfDraining()
        }
        state = .ready(next)
        var actions: [SessionAction]
        if reply.code >= 400 { actions = countError(relayed) } else { actions = [.reply(relayed)] }
        if state != .closed { actions += closeIfDraining() }
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
        return [.reply(reply), .reply(.tooManyErrors(hostname)), .close]
    }

    mutating func closeIfDraining() -> [SessionAction] {
        guard closeAfterReply, state != .closed else { return [] }
        state = .closed
        return [.reply(.shuttingDown(hostname)), .close]
    }
}
