import SluiceSMTP

/// `sluice explain`: runs one transaction through the rules offline and says, stage by stage, which
/// rules were considered, which matched, what was decided and which header edits would be made.
public struct Explainer {
    public struct Transaction {
        public var client: String
        public var helo: String
        public var sender: ReversePath
        public var recipients: [ForwardPath]
        public var tls = false
        public var authUser: String?
        /// The message in wire form (CRLF, dot-stuffed); nil: the content stages are not run.
        public var message: [UInt8]?

        public init(client: String, helo: String, sender: ReversePath, recipients: [ForwardPath]) {
            self.client = client
            self.helo = helo
            self.sender = sender
            self.recipients = recipients
        }
    }

    public let ruleSet: RuleSet
    public var bodyInspection = 1024 * 1024

    public init(ruleSet: RuleSet) { self.ruleSet = ruleSet }

    /// The report, one line per rule considered; `accepted` tells whether the message would be relayed.
    public func explain(_ input: Transaction) -> (report: String, relayed: Bool) {
        var lines: [String] = []
        var facts = Facts(clientText: input.client)
        facts.tls = input.tls
        facts.authUser = input.authUser
        var sessionTags: Set<String> = []

        func run(_ stage: Stage, _ title: String) -> Verdict {
            facts.tags.formUnion(sessionTags)
            let outcome = ruleSet.evaluate(stage, facts, tracing: true)
            lines.append("stage \(stage.rawValue)\(title)")
            if outcome.trace.isEmpty && outcome.decidedBy == nil && outcome.verdict != .proceed {
                lines.append("  built-in relay hygiene (RFC 2505): address has routing characters")
            }
            for (rule, matched) in outcome.trace {
                let mode = rule.observe ? " [observe]" : ""
                lines.append("  \(rule.location)  \(matched ? "MATCH   " : "no match")  \(rule.text)\(mode)")
            }
            if let (rule, pattern) = outcome.limitExceeded {
                lines.append("  \(rule.location)  pattern \(pattern) hit its match limit")
            }
            for (rule, verdict) in outcome.observed { lines.append("  observe: \(rule.location) would \(verdict.name)") }
            for (location, text) in outcome.logs { lines.append("  log: \(location) \(text)") }
            if !outcome.tags.isEmpty { lines.append("  tags: \(outcome.tags.joined(separator: ", "))") }
            sessionTags.formUnion(outcome.tags)
            for edit in outcome.headerEdits { lines.append("  header edit: \(Self.describe(edit))") }
            lines.append("  => \(Self.describe(outcome.verdict))")
            return outcome.verdict
        }
        func stops(_ verdict: Verdict) -> Bool {
            switch verdict {
            case .proceed, .accept, .discard: return false
            default: return true
            }
        }

        var relayed = true
        var discard = false
        if stops(run(.connect, "  (client \(input.client))")) { return (lines.joined(separator: "\n"), false) }
        facts.helo = input.helo
        if stops(run(.helo, "  (\(input.helo))")) { return (lines.joined(separator: "\n"), false) }
        facts.sender = input.sender
        if stops(run(.mail, "  (from \(input.sender))")) { return (lines.joined(separator: "\n"), false) }
        let sessionLevelTags = sessionTags
        var accepted = 0
        for recipient in input.recipients {
            facts.recipient = recipient
            facts.tags = sessionLevelTags
            sessionTags = sessionLevelTags
            let verdict = run(.rcpt, "  (to \(recipient))")
            if verdict == .discard { discard = true }
            if !stops(verdict) { accepted += 1 }
        }
        facts.recipient = nil
        facts.recipientCount = accepted
        guard accepted > 0 else {
            lines.append("no recipient accepted: the message would not be sent")
            return (lines.joined(separator: "\n"), false)
        }
        let data = run(.data, "")
        if data == .discard { discard = true }
        if stops(data) { return (lines.joined(separator: "\n"), false) }
        if let message = input.message {
            facts.size = message.count
            facts.addMessage(wire: message, bodyLimit: bodyInspection)
            for stage in [Stage.header, .body, .eom] {
                let verdict = run(stage, "")
                if verdict == .discard { discard = true }
                if stops(verdict) {
                    relayed = false
                    lines.append("result: refused; header edits (if any) are dropped")
                    break
                }
            }
        } else {
            lines.append("(no message given: header, body and eom rules not run)")
        }
        if discard {
            lines.append("result: the client would get 250, the message would be discarded")
            relayed = false
        } else if relayed {
            lines.append("result: relayed upstream to \(accepted) recipient(s); the upstream has the last word")
        }
        return (lines.joined(separator: "\n"), relayed)
    }

    static func describe(_ verdict: Verdict) -> String {
        switch verdict {
        case .reject(let reply), .tempfail(let reply), .disconnect(let reply): return "\(verdict.name): \(reply)"
        case .proceed: return "no terminal rule: relayed"
        case .greylist: return "greylist: the store decides (a first contact is deferred with 451 4.7.1)"
        default: return verdict.name
        }
    }

    static func describe(_ edit: HeaderEdit) -> String {
        switch edit {
        case .add(let name, let value): return "add \(name): \(value)"
        case .replace(let name, let value): return "replace \(name): \(value)"
        case .remove(let glob): return "remove \(glob)"
        }
    }
}
