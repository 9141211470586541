import SluicePolicy
import SluiceSMTP

/// What the greylist store said about the keys of one check.
public enum GreylistResult: Hashable, Sendable {
    /// Every key passed.
    case pass
    /// At least one key is deferred; the longest wait.
    case deferred(retryAfter: Int64)
    /// The store failed or timed out: `greylist on-error` decides.
    case storeFailed
}

/// The pure steps of the policy pipeline: relay hygiene and the compiled rules, and what a greylist
/// answer means at each point. The pipeline (in the server) runs them, in order, around the steps that
/// need the world: reverse DNS before the rules, the greylist store after them.
public enum PolicySteps {
    /// What relay hygiene and the rules decided for one request.
    public enum RuleResult: Hashable, Sendable {
        case decided(PolicyDecision)
        /// A `greylist` rule fired: the store decides these keys; `decision` holds the tags and notes so far.
        case greylist([GreylistKey], PolicyDecision)
    }

    /// Relay hygiene (at rcpt) and the rules of the request's stages. For the message point, `facts`
    /// must already hold the header fields and the body window.
    public static func rules(_ request: PolicyRequest, _ ruleSet: RuleSet, greylist: GreylistSettings,
                             tracing: Bool = false) -> RuleResult {
        if request.point == .rcpt, let refusal = ruleSet.relayHygieneRefusal(request.facts) {
            return .decided(PolicyDecision(.refuse(refusal), notes: [PolicyNote(
                kind: .decision, stage: .rcpt, rule: nil, verdict: "reject", text: "reject \"\(refusal)\" (relay hygiene, RFC 2505)")]))
        }
        if request.point == .message { return .decided(message(request.facts, ruleSet, greylist: greylist, tracing: tracing)) }
        let stage = request.point.stages[0]
        guard ruleSet.hasRules(for: stage) else { return .decided(.proceed) }
        let outcome = ruleSet.evaluate(stage, request.facts, tracing: tracing)
        var decision = PolicyDecision(.proceed, tags: outcome.tags, notes: notes(stage, outcome))
        if tracing { decision.trace = [StageTrace(stage: stage, outcome: outcome)] }
        switch outcome.verdict {
        case .proceed, .accept: break
        case .discard: decision.verdict = .discard
        case .reject(let reply), .tempfail(let reply):
            decision.verdict = .refuse(reply)
            decision.tags = [] // a refused command leaves nothing behind
        case .disconnect(let reply):
            decision.verdict = .disconnect(reply)
            decision.tags = []
        case .greylist:
            // Only at rcpt and data (refused at load elsewhere): the keys of this recipient, or of all.
            guard let client = request.facts.client, let sender = request.facts.sender else { return .decided(decision) }
            let recipients = request.point == .rcpt ? request.facts.recipient.map { [$0] } ?? [] : request.recipients
            let keys = recipients.map { Greylist.key(client: client, sender: sender, recipient: $0, settings: greylist) }
            return keys.isEmpty ? .decided(decision) : .greylist(keys, decision)
        }
        return .decided(decision)
    }

    /// The content stages (header, body, eom) together: tags flow on, header edits accumulate, and the
    /// first verdict other than proceed/accept ends the inspection (and drops the edits).
    static func message(_ facts: Facts, _ ruleSet: RuleSet, greylist: GreylistSettings, tracing: Bool) -> PolicyDecision {
        let outcome = ruleSet.evaluateContent(facts, tracing: tracing)
        var decision = PolicyDecision(.proceed, tags: outcome.stages.flatMap { $0.1.tags },
                                      notes: outcome.stages.flatMap { notes($0.0, $0.1) })
        if tracing { decision.trace = outcome.stages.map { StageTrace(stage: $0.0, outcome: $0.1) } }
        switch outcome.verdict {
        case .proceed, .accept:
            decision.headerEdits = outcome.headerEdits
            decision.routing = outcome.routing
        case .discard: decision.verdict = .discard
        case .reject(let reply), .tempfail(let reply): decision.verdict = .refuse(reply)
        case .greylist: decision.verdict = .refuse(Greylist.reply(greylist.delay, settings: greylist))
        case .disconnect(let reply): decision.verdict = .disconnect(reply)
        }
        return decision
    }

    static let greylistStoreFailed = SMTPReply(code: 451, enhanced: "4.3.0", "Temporary failure, please try again later")

    /// What the store's answer means at `point`. Per-message greylisting records the deferral at RCPT
    /// (the recipient goes on; DATA gets the refusal, once); otherwise a deferral refuses now.
    public static func greylisted(_ result: GreylistResult, at point: PolicyPoint, settings: GreylistSettings,
                                  _ decision: PolicyDecision) -> PolicyDecision {
        var decision = decision
        let deferral: DeferredRefusal?
        switch result {
        case .pass: deferral = nil
        case .deferred(let seconds): deferral = DeferredRefusal(retryAfter: seconds, reply: Greylist.reply(seconds, settings: settings))
        case .storeFailed:
            deferral = settings.onError == .tempfail
                ? DeferredRefusal(retryAfter: 0, reply: point == .rcpt && settings.mode == .perMessage
                                  ? Greylist.reply(0, settings: settings) : greylistStoreFailed)
                : nil
        }
        guard let deferral else { return decision }
        if point == .rcpt && settings.mode == .perMessage {
            decision.deferral = deferral
        } else {
            decision.verdict = .refuse(deferral.reply)
        }
        return decision
    }

    /// The log lines of one stage's outcome: observe-mode hits, `log` rules, and the decision.
    public static func notes(_ stage: Stage, _ outcome: RuleSet.Outcome) -> [PolicyNote] {
        var notes: [PolicyNote] = []
        for (rule, verdict) in outcome.observed {
            notes.append(PolicyNote(kind: .observed, stage: stage, rule: rule.location, verdict: verdict.name, text: "would \(verdict.name): \(rule.text)"))
        }
        for (location, text) in outcome.logs {
            notes.append(PolicyNote(kind: .log, stage: stage, rule: location, verdict: "log", text: text))
        }
        if let (rule, field) = outcome.unavailable {
            notes.append(PolicyNote(kind: .decision, stage: stage, rule: rule.location, verdict: "defer",
                                    text: "\(field) could not be looked up: defer \"\(RuleSet.lookupFailed)\""))
        } else if let (rule, pattern) = outcome.limitExceeded {
            notes.append(PolicyNote(kind: .limitExceeded, stage: stage, rule: rule.location, verdict: "defer",
                                    text: "pattern \(pattern) hit its match limit: tempfail"))
        } else if outcome.verdict != .proceed {
            let reply: String
            switch outcome.verdict {
            case .reject(let r), .tempfail(let r), .disconnect(let r): reply = " \"\(r)\""
            default: reply = ""
            }
            notes.append(PolicyNote(kind: .decision, stage: stage, rule: outcome.decidedBy?.location, verdict: outcome.verdict.name,
                                    text: "\(outcome.verdict.name)\(reply)"))
        }
        return notes
    }
}

/// One stage's rules as `sluice explain` shows them: every rule considered and whether it matched.
public struct StageTrace: Hashable, Sendable {
    public var stage: Stage
    public var rules: [(location: RuleLocation, text: String, observe: Bool, matched: Bool)]
    public var limitExceeded: (location: RuleLocation, pattern: String)?
    public var headerEdits: [HeaderEdit]
    public var verdict: Verdict

    init(stage: Stage, outcome: RuleSet.Outcome) {
        self.stage = stage
        rules = outcome.trace.map { ($0.0.location, $0.0.text, $0.0.observe, $0.1) }
        limitExceeded = outcome.limitExceeded.map { ($0.0.location, $0.1) }
        headerEdits = outcome.headerEdits
        verdict = outcome.verdict
    }

    public static func == (lhs: StageTrace, rhs: StageTrace) -> Bool {
        lhs.stage == rhs.stage && lhs.verdict == rhs.verdict && lhs.headerEdits == rhs.headerEdits
            && lhs.rules.map(\.location) == rhs.rules.map(\.location) && lhs.rules.map(\.matched) == rhs.rules.map(\.matched)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stage)
        hasher.combine(verdict)
    }
}
