import SluicePolicy
import SluiceSMTP

/// The policy step of every stage: the session asks (`.evaluate`), waits in one state, and acts on the
/// decision. Which checks run, and how, is the pipeline's business, never the session's.
extension ClientSession {
    /// The facts every stage shares; callers add the stage's own.
    func baseFacts(_ phase: Phase) -> Facts {
        var facts = Facts(clientText: client.address, client: client.ip)
        facts.clientName = client.name
        facts.tls = tlsActive
        facts.authUser = authUser
        facts.helo = phase.greeting?.name
        facts.tags = sessionTags
        if case .transaction(_, let transaction) = phase {
            facts.sender = transaction.sender
            facts.size = transaction.declaredSize
            facts.recipientCount = transaction.recipients.count
            facts.insertTags(transaction.tags)
            facts.authentication = transaction.authentication
        }
        return facts
    }

    /// Asks the pipeline about `point` and waits for its decision.
    mutating func ask(_ point: PolicyPoint, _ facts: Facts, _ phase: Phase, _ wait: PolicyWait,
                      recipients: [ForwardPath] = []) -> [SessionAction] {
        state = .awaitingPolicy(phase, wait)
        return [.evaluate(PolicyRequest(point: point, facts: facts, recipients: recipients))]
    }

    /// The client connected: the connect stage decides whether the upstream is contacted at all.
    public mutating func start() -> [SessionAction] {
        guard case .new = state else { return [] }
        return ask(.connect, baseFacts(.fresh), .fresh, .connect)
    }

    /// The pipeline decided what `ask` asked.
    public mutating func policyDecided(_ decision: PolicyDecision) -> [SessionAction] {
        guard case .awaitingPolicy(let phase, let wait) = state else { return [] }
        if let name = decision.clientName { client.name = name }
        let log: [SessionAction] = decision.notes.isEmpty ? [] : [.policy(decision.notes)]
        switch wait {
        case .connect: return log.then(connectDecided(decision))
        case .xclient: return log.then(xclientDecided(decision))
        case .message(let size): return log.then(messageDecided(decision, phase, size: size))
        default: break
        }
        switch decision.verdict {
        case .disconnect(let reply):
            state = .closed
            return log.then([.reply(reply), .close(.policy)])
        case .refuse(let reply):
            var phase = phase
            if case .transaction(let greeting, var transaction) = phase {
                transaction.insertTags(decision.tags)
                if case .rcpt = wait { transaction.refusedRecipients += 1 }
                phase = .transaction(greeting, transaction)
            }
            state = .ready(phase)
            return log.then(countError(reply))
        case .proceed, .discard:
            let discard = decision.verdict == .discard
            return log.then(proceed(wait, phase, decision, discard: discard))
        }
    }

    /// A command stage let the command through: relay it (or, for DATA, start reading the message).
    private mutating func proceed(_ wait: PolicyWait, _ phase: Phase, _ decision: PolicyDecision, discard: Bool) -> [SessionAction] {
        let tags = decision.tags, deferral = decision.deferral
        switch wait {
        case .helo(let command, let greeting):
            sessionTags.formUnion(tags)
            sessionDiscard = sessionDiscard || discard
            return forward(command, phase, .helo(greeting))
        case .mail(let command, let path, let parameters):
            return forward(command, phase, .mail(path, parameters, tags: tags, discard: discard || sessionDiscard,
                                                 authentication: decision.authentication ?? Authentication()))
        case .rcpt(let command, let path):
            guard case .transaction(let greeting, var transaction) = phase else { return [] }
            transaction.insertTags(tags)
            transaction.discard = transaction.discard || discard
            if let deferral, deferral.retryAfter >= (transaction.deferral?.retryAfter ?? 0) { transaction.deferral = deferral }
            return forward(command, .transaction(greeting, transaction), .rcpt(path))
        case .data:
            guard case .transaction(let greeting, var transaction) = phase else { return [] }
            transaction.insertTags(tags)
            transaction.discard = transaction.discard || discard
            state = .receivingData(greeting, transaction)
            return [.reply(.startMailInput),
                    .receiveMessage(MessageLimits(maxLineLength: configuration.limits.dataLineLength, maxSize: messageSizeLimit,
                                                  bareLineEndings: configuration.bareLineEndings))]
        case .connect, .xclient, .message:
            return []
        }
    }

    private mutating func connectDecided(_ decision: PolicyDecision) -> [SessionAction] {
        switch decision.verdict {
        case .proceed, .discard:
            sessionTags.formUnion(decision.tags)
            sessionDiscard = decision.verdict == .discard
            let delay = configuration.limits.greetDelay
            if delay > 0, !client.exempt {
                state = .delayingGreeting
                return [.delayGreeting(delay)]
            }
            state = .awaitingGreeting
            return [.connectUpstream]
        case .refuse(let reply), .disconnect(let reply):
            // Refused before any upstream exists: the reply, then close.
            state = .closed
            return [.reply(reply), .close(.policy)]
        }
    }

    /// The message rules ran (header, body, eom): send it, discard it, or refuse it.
    private mutating func messageDecided(_ decision: PolicyDecision, _ phase: Phase, size: Int) -> [SessionAction] {
        guard case .transaction(let greeting, var transaction) = phase else { return [] }
        if !upstreamAlive { return inspectedWithoutUpstream(decision.verdict, greeting, transaction, size) }
        switch decision.verdict {
        case .refuse(let reply):
            state = .ready(.greeted(greeting))
            var actions: [SessionAction] = [.discardMessage, .outcome(TransactionOutcome(
                status: reply.isTransientFailure ? .failed : .refused, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            actions += countError(reply)
            if !isClosed { actions += [.resetUpstream] + closeIfDraining() }
            return actions
        case .disconnect(let reply):
            state = .closed
            return [.discardMessage, .reply(reply), .close(.policy)]
        case .discard:
            return finishDiscarded(greeting, transaction, size: size)
        case .proceed:
            if transaction.discard || sessionDiscard { return finishDiscarded(greeting, transaction, size: size) }
            transaction.insertTags(decision.tags)
            pendingEdits = (decision.headerEdits, decision.header, decision.traceFields)
            if !decision.routing.isEmpty { return route(decision.routing, greeting, transaction, size: size) }
            state = .awaitingDataReply(greeting, transaction, size: size)
            return [.forward(.data)]
        }
    }

    /// The upstream went away while the rules looked at the message: a refusal still gets the rule's
    /// reply, a discard its 250; a message that would have gone on gets 451 (upstream lost). Nothing is sent upstream.
    mutating func inspectedWithoutUpstream(_ verdict: PolicyDecision.Verdict, _ greeting: Greeting, _ transaction: Transaction,
                                           _ size: Int) -> [SessionAction] {
        let reply: SMTPReply, status: TransactionOutcome.Status
        switch verdict {
        case .disconnect(let reply):
            state = .closed
            return [.discardMessage, .reply(reply), .close(.policy)]
        case .refuse(let refusal):
            (reply, status) = (refusal, refusal.isTransientFailure ? .failed : .refused)
        case .discard:
            (reply, status) = (Self.discarded, .discarded)
        case .proceed:
            (reply, status) = transaction.discard || sessionDiscard ? (Self.discarded, .discarded) : (.upstreamFailedInTransaction, .failed)
        }
        state = .upstreamGone
        return [.reply(reply), .discardMessage,
                .outcome(TransactionOutcome(status: status, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            + closeIfDraining()
    }

    /// A discarded message: the client hears 250, the upstream never gets it (and its transaction is reset).
    mutating func finishDiscarded(_ greeting: Greeting, _ transaction: Transaction, size: Int) -> [SessionAction] {
        let reply = Self.discarded
        state = .ready(.greeted(greeting))
        return [.reply(reply), .discardMessage,
                .outcome(TransactionOutcome(status: .discarded, greeting: greeting, transaction: transaction, size: size, reply: reply)),
                .resetUpstream] + closeIfDraining()
    }

    static let discarded = SMTPReply(code: 250, enhanced: "2.0.0", "Ok: message accepted")
}
