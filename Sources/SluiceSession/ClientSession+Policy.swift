import SluicePolicy
import SluiceSMTP

/// Rule evaluation for the command stages, and the verdict turned into replies.
extension ClientSession {
    /// What the command stages decided: go on (and relay), or answer and stop here.
    enum StageDecision {
        case relay(tags: [String], discard: Bool, log: [SessionAction])
        case answer([SessionAction])
        /// A `greylist` rule fired (stage rcpt or data): the store decides.
        case greylist(tags: [String], log: [SessionAction])
    }

    /// The facts every stage shares; callers add the stage's own.
    func baseFacts(_ phase: Phase) -> Facts {
        var facts = Facts(clientText: clientAddress, client: clientIP)
        facts.clientName = clientName
        facts.tls = tlsActive
        facts.authUser = authUser
        facts.helo = phase.greeting?.name
        facts.tags = sessionTags
        if case .transaction(_, let transaction) = phase {
            facts.sender = transaction.sender
            facts.size = transaction.parameters.size
            facts.recipientCount = transaction.recipients.count
            facts.tags.formUnion(transaction.tags)
        }
        return facts
    }

    /// Runs `stage`'s rules and turns the verdict into a decision (with the log notes it produced).
    /// The facts are built only when a rule (or relay hygiene, at RCPT) looks at them.
    mutating func decide(_ stage: Stage, _ facts: (ClientSession) -> Facts) -> StageDecision {
        let ruleSet = configuration.ruleSet
        guard ruleSet.hasRules(for: stage) || stage == .rcpt else { return .relay(tags: [], discard: false, log: []) }
        let outcome = ruleSet.evaluate(stage, facts(self))
        let notes = Self.notes(stage, outcome)
        let log: [SessionAction] = notes.isEmpty ? [] : [.policy(notes)]
        switch outcome.verdict {
        case .proceed, .accept:
            return .relay(tags: outcome.tags, discard: false, log: log)
        case .discard:
            return .relay(tags: outcome.tags, discard: true, log: log)
        case .reject(let reply), .tempfail(let reply):
            return .answer(log.then(countError(reply)))
        case .greylist:
            return .greylist(tags: outcome.tags, log: log)
        case .disconnect(let reply):
            state = .closed
            return .answer(log.then([.reply(reply), .close]))
        }
    }

    /// The greylisting key of `recipient` in this transaction (nil when the client address is not an IP).
    func greylistKey(_ transaction: Transaction, _ recipient: ForwardPath) -> GreylistKey? {
        guard let client = clientIP else { return nil }
        return Greylist.key(client: client, sender: transaction.sender, recipient: recipient, settings: configuration.greylist)
    }

    static let greylistStoreFailed = SMTPReply(code: 451, enhanced: "4.3.0", "Temporary failure, please try again later")

    /// The greylist store answered (or failed).
    public mutating func greylistDecided(_ result: GreylistResult) -> [SessionAction] {
        guard case .awaitingGreylist(let greeting, var transaction, let wait) = state else { return [] }
        let settings = configuration.greylist
        var deferral: SMTPReply?
        var retryAfter: Int64?
        switch result {
        case .pass: break
        case .deferred(let seconds):
            deferral = Greylist.reply(seconds, settings: settings)
            retryAfter = seconds
        case .storeFailed:
            if settings.onError == .tempfail {
                deferral = Self.greylistStoreFailed
                retryAfter = 0
            }
        }
        switch wait {
        case .rcpt(let command, let path):
            if settings.mode == .perMessage {
                // Record now, answer at DATA: the RCPT goes on to the upstream either way.
                if let retryAfter { transaction.greylistRetryAfter = max(transaction.greylistRetryAfter ?? 0, retryAfter) }
                state = .awaitingReply(.transaction(greeting, transaction), .rcpt(path))
                return [.forward(command, .command)]
            }
            if let deferral {
                transaction.refusedRecipients += 1
                state = .ready(.transaction(greeting, transaction))
                return countError(deferral)
            }
            state = .awaitingReply(.transaction(greeting, transaction), .rcpt(path))
            return [.forward(command, .command)]
        case .data:
            if let deferral {
                state = .ready(.transaction(greeting, transaction))
                return countError(deferral)
            }
            state = .receivingData(greeting, transaction)
            return [.reply(.startMailInput), .receiveData]
        }
    }

    static func notes(_ stage: Stage, _ outcome: RuleSet.Outcome) -> [PolicyNote] {
        var notes: [PolicyNote] = []
        for (rule, verdict) in outcome.observed {
            notes.append(PolicyNote(kind: .observed, stage: stage, rule: rule.location, verdict: verdict.name, text: "would \(verdict.name): \(rule.text)"))
        }
        for (location, text) in outcome.logs {
            notes.append(PolicyNote(kind: .log, stage: stage, rule: location, verdict: "log", text: text))
        }
        if let (rule, pattern) = outcome.limitExceeded {
            notes.append(PolicyNote(kind: .limitExceeded, stage: stage, rule: rule.location, verdict: "defer",
                                    text: "pattern \(pattern) hit its match limit: tempfail"))
        } else if outcome.verdict != .proceed {
            let reply: String
            switch outcome.verdict {
            case .reject(let r), .tempfail(let r), .disconnect(let r): reply = " \"\(r)\""
            default: reply = ""
            }
            notes.append(PolicyNote(kind: .decision, stage: stage, rule: outcome.decidedBy?.location, verdict: outcome.verdict.name,
                                    text: "\(outcome.verdict.name)\(reply)" + (outcome.decidedBy == nil ? " (relay hygiene, RFC 2505)" : "")))
        }
        return notes
    }

    /// The client connected: the connect stage decides whether the upstream is contacted at all.
    public mutating func start() -> [SessionAction] {
        guard state == .awaitingGreeting, !resolvingName else { return [] }
        if configuration.ruleSet.usesClientName {
            resolvingName = true
            return [.resolveClientName]
        }
        return connectStage()
    }

    /// The reverse DNS lookup answered (nil: no name, or no answer in time).
    public mutating func clientNameResolved(_ name: String?) -> [SessionAction] {
        guard resolvingName else { return [] }
        resolvingName = false
        clientName = name
        return connectStage()
    }

    private mutating func connectStage() -> [SessionAction] {
        guard state == .awaitingGreeting else { return [] }
        switch decide(.connect, { $0.baseFacts(.fresh) }) {
        case .relay(let tags, let discard, let log):
            sessionTags.formUnion(tags)
            sessionDiscard = sessionDiscard || discard
            return log.then([.connectUpstream])
        case .greylist(_, let log): // only possible at rcpt and data (refused at load)
            return log.then([.connectUpstream])
        case .answer(let actions):
            // Refused before any upstream exists: the reply, then close.
            state = .closed
            return actions.filter { if case .close = $0 { return false } else { return true } } + [.close]
        }
    }

    /// The content rules ran (header, body, eom).
    public mutating func contentInspected(_ outcome: RuleSet.ContentOutcome) -> [SessionAction] {
        guard case .inspecting(let greeting, var transaction, let size) = state else { return [] }
        let notes = outcome.stages.flatMap { Self.notes($0.0, $0.1) }
        let log: [SessionAction] = notes.isEmpty ? [] : [.policy(notes)]
        if !upstreamAlive {
            return log.then(inspectedWithoutUpstream(outcome.verdict, greeting, transaction, size))
        }
        if let (reply, status) = refusal(outcome.verdict) {
            state = .awaitingReply(.greeted(greeting), .internalReset)
            var actions = log + [.discardMessage,
                                 .outcome(TransactionOutcome(status: status, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            actions += countError(reply)
            if state != .closed { actions.append(.forward(.rset, .command)) }
            return actions
        }
        switch outcome.verdict {
        case .reject, .tempfail, .greylist: return [] // refusals, answered above
        case .disconnect(let reply):
            state = .closed
            return log.then([.discardMessage, .reply(reply), .close])
        case .discard:
            transaction.discard = true
            state = .inspecting(greeting, transaction, size: size)
            return log.then(finishDiscarded())
        case .proceed, .accept:
            if transaction.discard || sessionDiscard {
                return log.then(finishDiscarded())
            }
            transaction.tags.formUnion(outcome.stages.flatMap { $0.1.tags })
            pendingEdits = outcome.headerEdits
            state = .awaitingDataReply(greeting, transaction, size: size)
            return log.then([.forward(.data, .command)])
        }
    }

    /// The upstream went away while the rules looked at the message: a refusal still gets the rule's
    /// reply, a discard its 250; a message that would have gone on gets 451 (upstream lost). Nothing is sent upstream.
    mutating func inspectedWithoutUpstream(_ verdict: Verdict, _ greeting: Greeting, _ transaction: Transaction,
                                           _ size: Int) -> [SessionAction] {
        if case .disconnect(let reply) = verdict {
            state = .closed
            return [.discardMessage, .reply(reply), .close]
        }
        let discarded = verdict == .discard || transaction.discard || sessionDiscard
        let (reply, status) = refusal(verdict)
            ?? (discarded ? (Self.discarded, .discarded) : (SMTPReply.upstreamFailedInTransaction, .failed))
        state = .upstreamGone
        return [.reply(reply), .discardMessage,
                .outcome(TransactionOutcome(status: status, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            + closeIfDraining()
    }

    /// The reply and logged status of a content verdict that refuses the message (nil: it does not refuse).
    func refusal(_ verdict: Verdict) -> (SMTPReply, TransactionOutcome.Status)? {
        switch verdict {
        case .reject(let reply): return (reply, .refused)
        case .tempfail(let reply): return (reply, .failed)
        case .greylist: return (Greylist.reply(configuration.greylist.delay, settings: configuration.greylist), .failed)
        case .proceed, .accept, .discard, .disconnect: return nil
        }
    }

    /// A discarded message: the client hears 250, the upstream never gets it (and its transaction is reset).
    mutating func finishDiscarded() -> [SessionAction] {
        guard case .inspecting(let greeting, let transaction, let size) = state else { return [] }
        let reply = Self.discarded
        state = .awaitingReply(.greeted(greeting), .internalReset)
        return [.reply(reply), .discardMessage,
                .outcome(TransactionOutcome(status: .discarded, greeting: greeting, transaction: transaction, size: size, reply: reply)),
                .forward(.rset, .command)]
    }

    static let discarded = SMTPReply(code: 250, enhanced: "2.0.0", "Ok: message accepted")
}
