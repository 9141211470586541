import SluiceSMTP

/// The compiled rules of a configuration, and the engine that runs them: a pure function of rules and facts.
public struct RuleSet: Sendable {
    public let rules: [Stage: [Rule]]
    /// RFC 2505 relay hygiene at RCPT (on unless the configuration says `relay-hygiene off`).
    public let relayHygiene: Bool

    /// Whether any rule looks at `client.name` (only then is the reverse DNS lookup made). Worked out
    /// once here: every session asks.
    public let usesClientName: Bool
    /// Whether any rule reads an SPF result (only then is SPF checked, at MAIL), a DKIM result, a
    /// DMARC result (DMARC needs SPF and DKIM too).
    public let usesSPF: Bool
    /// Whether a rule reads `spf.helo` (the HELO identity is checked only then).
    public let usesSPFHelo: Bool
    public let usesDKIM: Bool
    public let usesDMARC: Bool
    /// Whether a rule reads `body.raw` (only then is the raw body window copied out of the message).
    public let readsRawBody: Bool
    /// Whether a rule reads the message's content (`Field.isContent`, detectors included): only then is
    /// the message parsed for the header, body and eom rules. Rules there that read only the envelope
    /// and the authentication results, or only edit the header, run without it.
    public let readsContent: Bool
    /// The DNS lists the rules read, each once (looked up at connect, all at the same time).
    public let dnsLists: [DNSList]
    /// The right-hand-side lists the rules read, by the field looked up (`helo`, `sender.domain`).
    public let domainLists: [Field: [DNSList]]

    /// The detectors the rules use, each once (the message step counts their findings once per message).
    public let detectors: [Detector]

    /// One bit per stage that has rules (asked for every command: no hashing on the hot path).
    private let stagesWithRules: UInt16

    /// `definedDNSLists`: every dnsbl list of the configuration (a rule on `dnsbl.score` needs them all).
    public init(rules: [Rule] = [], relayHygiene: Bool = true, definedDNSLists: [DNSList] = []) {
        self.rules = Dictionary(grouping: rules, by: \.stage)
        self.relayHygiene = relayHygiene
        var seen = Set<String>(), lists: [DNSList] = []
        for rule in rules {
            for list in rule.condition?.dnsLists ?? [] where seen.insert(list.name).inserted { lists.append(list) }
        }
        if rules.contains(where: { $0.condition?.fields.contains(.dnsblScore) ?? false }) {
            for list in definedDNSLists.sorted(by: { $0.name < $1.name }) where seen.insert(list.name).inserted { lists.append(list) }
        }
        self.dnsLists = lists
        var domainLists: [Field: [DNSList]] = [:]
        for rule in rules {
            for (field, list) in rule.condition?.domainLists ?? [] where field == .helo || field == .senderDomain {
                if !(domainLists[field] ?? []).contains(list) { domainLists[field, default: []].append(list) }
            }
        }
        self.domainLists = domainLists
        self.usesClientName = rules.contains { rule in
            rule.condition?.fields.contains { $0 == .clientName || $0 == .clientNameUnverified } ?? false
        }
        func reads(_ fields: Set<Field>) -> Bool {
            rules.contains { rule in rule.condition?.fields.contains { fields.contains($0) } ?? false }
        }
        self.usesDMARC = reads([.dmarc, .dmarcPolicy])
        self.usesDKIM = usesDMARC || reads([.dkim, .dkimDomain])
        self.usesSPF = usesDMARC || reads([.spf, .spfHelo])
        self.usesSPFHelo = reads([.spfHelo])
        self.readsRawBody = reads([.bodyRaw])
        self.readsContent = rules.contains { rule in rule.condition?.fields.contains(where: \.isContent) ?? false }
        self.stagesWithRules = rules.reduce(0) { $0 | 1 << $1.stage.ordinal }
        var detectorNames = Set<String>(), detectors: [Detector] = []
        for rule in rules {
            for detector in rule.condition?.detectors ?? [] where detectorNames.insert(detector.name).inserted { detectors.append(detector) }
        }
        self.detectors = detectors
    }

    public static let empty = RuleSet()

    public func hasRules(for stage: Stage) -> Bool { stagesWithRules & 1 << stage.ordinal != 0 }

    /// What happened in one stage.
    public struct Outcome: Sendable {
        public var verdict: Verdict = .proceed
        /// The rule that decided (nil: no terminal rule fired, or built-in relay hygiene).
        public var decidedBy: Rule?
        public var headerEdits: [HeaderEdit] = []
        /// `bcc` and `redirect` rules that fired.
        public var routing = RecipientRouting()
        public var tags: [String] = []
        public var logs: [(RuleLocation, String)] = []
        /// Observe-mode rules that matched, with what they would have done.
        public var observed: [(Rule, Verdict)] = []
        /// A pattern hit its match limit: the stage tempfails and this is logged as a warning.
        public var limitExceeded: (Rule, String)?
        /// A rule read a field whose lookup failed (it tempfailed).
        public var unavailable: (Rule, String)?
        /// Every rule considered, whether it matched (for `sluice explain`; kept only when tracing).
        public var trace: [(Rule, Bool)] = []

        public init() {}
    }

    /// A rule depends on a DNS fact that could not be looked up (RFC 3463 4.4.3: directory server failure).
    public static let lookupFailed = SMTPReply(code: 451, enhanced: "4.4.3", "Temporary DNS failure, try again later")
    public static let inspectionFailed =
        SMTPReply(code: 451, enhanced: "4.7.0", "Temporary failure in content inspection, try again later")
    public static let routingCharacters =
        SMTPReply(code: 550, enhanced: "5.7.1", "Relay access denied: address contains routing characters")

    /// Runs the rules of `stage` top to bottom against `facts` (relay hygiene is not a rule: see
    /// `relayHygieneRefusal`). `tracing` keeps every rule considered in
    /// `trace` (for `sluice explain`); the relay does not ask for it (a copy of each rule per message).
    public func evaluate(_ stage: Stage, _ facts: Facts, tracing: Bool = false) -> Outcome {
        var outcome = Outcome()
        var facts = facts
        for rule in rules[stage] ?? [] {
            let matched: Bool
            do {
                if rule.handledFailures.isEmpty {
                    matched = try rule.condition?.holds(for: facts) ?? true
                } else {
                    var known = facts
                    known.unavailable.subtract(rule.handledFailures)
                    matched = try rule.condition?.holds(for: known) ?? true
                }
            } catch {
                if tracing { outcome.trace.append((rule, false)) }
                if rule.observe { continue }
                if let unavailable = error as? Facts.Unavailable {
                    outcome.verdict = .tempfail(Self.lookupFailed)
                    outcome.decidedBy = rule
                    outcome.unavailable = (rule, unavailable.what)
                    return outcome
                }
                outcome.verdict = .tempfail(Self.inspectionFailed)
                outcome.decidedBy = rule
                outcome.limitExceeded = (rule, (error as? Pattern.MatchLimitExceeded)?.pattern ?? "\(error)")
                return outcome
            }
            if tracing { outcome.trace.append((rule, matched)) }
            guard matched else { continue }
            let verdict = rule.action.verdict
            if rule.observe {
                outcome.observed.append((rule, verdict))
                continue
            }
            outcome.tags += rule.tags
            facts.insertTags(rule.tags)
            switch rule.action {
            case .addHeader(let name, let value): outcome.headerEdits.append(.add(name: name, value: value))
            case .replaceHeader(let name, let value): outcome.headerEdits.append(.replace(name: name, value: value))
            case .removeHeader(let glob): outcome.headerEdits.append(.remove(glob: glob))
            case .tag(let tag):
                outcome.tags.append(tag)
                facts.insertTags([tag])
            case .log(let text): outcome.logs.append((rule.location, text))
            case .addRecipient(let path):
                outcome.routing.bcc.append(path)
                outcome.logs.append((rule.location, "bcc \(path)"))
            case .redirect(let path):
                outcome.routing.redirect.append(path)
                outcome.logs.append((rule.location, "redirect to \(path)"))
            default:
                outcome.verdict = verdict
                outcome.decidedBy = rule
                return outcome
            }
        }
        return outcome
    }

    /// RFC 2505 relay hygiene, a step of its own that runs before the rules of stage rcpt: a recipient
    /// whose local part has `%` or `!`, or `@` inside it (quoted or not), is a form a downstream MTA may
    /// re-route. Returns the refusal, or nil. (Off with `relay-hygiene off`.)
    public func relayHygieneRefusal(_ facts: Facts) -> SMTPReply? {
        guard relayHygiene, let mailbox = facts.recipient?.mailbox, Self.hasRoutingCharacters(mailbox) else { return nil }
        return Self.routingCharacters
    }

    public static func hasRoutingCharacters(_ mailbox: Mailbox) -> Bool {
        mailbox.localPart.contains { $0 == "%" || $0 == "!" || $0 == "@" }
    }
}

extension RuleSet {
    /// The content stages (header, body, eom) together: tags flow on, header edits accumulate, and the
    /// first verdict other than proceed/accept ends the message's inspection (and drops the edits).
    public struct ContentOutcome: Sendable {
        public var verdict: Verdict = .proceed
        public var headerEdits: [HeaderEdit] = []
        public var routing = RecipientRouting()
        public var stages: [(Stage, Outcome)] = []

        public init() {}
    }

    public var hasContentRules: Bool { stagesWithRules & (1 << Stage.header.ordinal | 1 << Stage.body.ordinal | 1 << Stage.eom.ordinal) != 0 }

    public func evaluateContent(_ facts: Facts, tracing: Bool = false) -> ContentOutcome {
        var result = ContentOutcome()
        var facts = facts
        for stage in [Stage.header, .body, .eom] where hasRules(for: stage) {
            let outcome = evaluate(stage, facts, tracing: tracing)
            result.stages.append((stage, outcome))
            facts.insertTags(outcome.tags)
            switch outcome.verdict {
            case .proceed, .accept:
                result.headerEdits += outcome.headerEdits
                result.routing.merge(outcome.routing)
            default:
                result.verdict = outcome.verdict
                result.headerEdits = []
                result.routing = RecipientRouting()
                return result
            }
        }
        return result
    }
}
