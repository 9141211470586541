import Foundation
import Logging
import NIOCore
import NIOPosix
import SluiceConfig
import SluiceDNS
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore

/// `sluice explain`: one transaction through the real thing, offline. A `ClientSession` and the
/// `PolicyPipeline` (tracing every rule it considers) run against an in-memory upstream that accepts
/// everything, so the report can never disagree with the relay about which rules run, in which order,
/// or which tags later stages see. Greylisting asks a fresh in-memory store: a first contact.
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

    public let file: Configuration

    public init(file: Configuration) { self.file = file }

    /// The report, one line per rule considered; `relayed` tells whether the message would be relayed.
    public func explain(_ input: Transaction) throws -> (report: String, relayed: Bool) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
        }
        let store = try SQLiteGreylistStore(path: ":memory:")
        // The DNS facts are looked up for real when the configuration names its `dns server` and a rule
        // needs one; without it they stay unknown (a rule on them does not match), so explaining a
        // configuration never depends on the machine's resolver.
        var resolver: DNSResolver?
        if !file.dnsServers.isEmpty, file.ruleSet.usesClientName || !file.ruleSet.dnsLists.isEmpty || file.ruleSet.usesSPF || file.ruleSet.usesDKIM {
            resolver = try? DNSResolver(configuration: .init(servers: file.dnsServers.map { "\($0.host)@\($0.port)" },
                                                             timeout: file.dnsTimeout ?? 5))
        }
        defer { resolver?.shutdown() }
        var pipeline = PolicyPipeline(ruleSet: file.ruleSet, greylist: file.greylist, store: store,
                                      headerWindow: file.limits.headerWindow, bodyInspection: file.limits.bodyInspection,
                                      content: ContentInspection(limits: file.limits, detectors: file.ruleSet.detectors,
                                                                 sniffer: SharedSniffer.instance, pool: pool),
                                      resolver: resolver, reverseDNSTimeout: file.limits.reverseDNSTimeout,
                                      authentication: AuthenticationStep(resolver: resolver, budget: file.dnsBudget ?? 10,
                                                                         hostname: file.hostname ?? "sluice.invalid"),
                                      pool: pool, metrics: ServerMetrics(),
                                      now: { Int64(Date().timeIntervalSince1970) })
        pipeline.tracing = true
        var drive = Drive(input: input, pipeline: pipeline, eventLoop: group.next(), file: file)
        drive.run()
        return (drive.lines.joined(separator: "\n"), drive.relayed)
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
        case .removeAuthenticationResults(let id): return "remove Authentication-Results of \(id)"
        }
    }
}

/// The client side of an explanation: the commands of the transaction in turn, and an upstream that
/// says yes to everything.
private struct Drive {
    let input: Explainer.Transaction
    let pipeline: PolicyPipeline
    let eventLoop: EventLoop
    var session: ClientSession
    var lines: [String] = []
    var relayed = false
    var accepted = 0
    var script: [SMTPCommand]
    var lastReply: SMTPReply?

    init(input: Explainer.Transaction, pipeline: PolicyPipeline, eventLoop: EventLoop, file: Configuration) {
        self.input = input
        self.pipeline = pipeline
        self.eventLoop = eventLoop
        var configuration = SessionConfiguration(hostname: "sluice.explain", limits: file.limits, ruleSet: file.ruleSet, greylist: file.greylist)
        configuration.bareLineEndings = file.bareLineEndings
        configuration.allowPlaintextAuth = true
        session = ClientSession(configuration: configuration, client: ClientIdentity(address: input.client, sessionID: "EXPLAIN"),
                                tlsActive: input.tls)
        script = [.ehlo(input.helo)]
        if let user = input.authUser {
            script.append(.auth("PLAIN " + Data("\0\(user)\0-".utf8).base64EncodedString()))
        }
        script.append(.mail(input.sender, ESMTPParameters()))
        script += input.recipients.map { .rcpt($0, ESMTPParameters()) }
        script.append(.data)
    }

    var outcome: TransactionOutcome.Status?
    var discarded = false

    mutating func run() {
        perform(session.start())
        while !session.isClosed, session.inputMode == .command, !script.isEmpty {
            let command = script.removeFirst()
            if command == .data, accepted == 0 {
                lines.append("no recipient accepted: the message would not be sent")
                return
            }
            lastReply = nil
            perform(session.received(command))
            if case .rcpt = command, lastReply?.code == 250 { accepted += 1 }
        }
        guard session.inputMode == .data else { return }
        guard let message = input.message else {
            lines.append("(no message given: header, body and eom rules not run)")
            lines.append(discarded ? "result: the client would get 250, the message would be discarded"
                                   : "result: relayed upstream to \(accepted) recipient(s); the upstream has the last word")
            relayed = !discarded
            return
        }
        perform(session.dataFinished(size: message.count, fault: nil))
        switch outcome {
        case .delivered?:
            relayed = true
            lines.append("result: relayed upstream to \(accepted) recipient(s); the upstream has the last word")
        case .discarded?: lines.append("result: the client would get 250, the message would be discarded")
        case .refused?, .failed?, nil: lines.append("result: refused; header edits (if any) are dropped")
        }
    }

    private mutating func perform(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case .reply(let reply): lastReply = reply
            case .connectUpstream: perform(session.upstreamReplied(SMTPReply(code: 220, lines: ["explain ESMTP"])))
            case .forward(let command): perform(session.upstreamReplied(Self.upstreamReply(to: command)))
            case .forwardAuthResponse: perform(session.upstreamReplied(SMTPReply(code: 235, enhanced: "2.7.0", "ok")))
            case .sendMessage: perform(session.upstreamReplied(SMTPReply(code: 250, enhanced: "2.0.0", "queued")))
            case .evaluate(let request): perform(session.policyDecided(decide(request)))
            case .outcome(let result): outcome = result.status
            case .delayGreeting: perform(session.greetDelayElapsed())
            case .resetUpstream, .receiveMessage, .startTLS, .policy, .discardMessage, .close: break
            }
        }
    }

    private static func upstreamReply(to command: SMTPCommand) -> SMTPReply {
        switch command {
        case .ehlo: return SMTPReply(code: 250, lines: ["explain", "AUTH PLAIN"])
        case .data: return SMTPReply(code: 354, lines: ["go ahead"])
        case .quit: return SMTPReply(code: 221, lines: ["bye"])
        default: return SMTPReply(code: 250, lines: ["ok"])
        }
    }

    private mutating func decide(_ request: PolicyRequest) -> PolicyDecision {
        let pipeline = self.pipeline
        let origin = PolicyPipeline.Origin(eventLoop: eventLoop,
                                           message: input.message.map { ByteBuffer(bytes: $0) }, logger: Logger(label: "explain"),
                                           sessionID: "EXPLAIN")
        let decision = (try? eventLoop.flatSubmit { () -> EventLoopFuture<PolicyDecision> in
            switch pipeline.evaluate(request, from: origin) {
            case .decided(let decision): return origin.eventLoop.makeSucceededFuture(decision)
            case .pending(let future): return future
            }
        }.wait()) ?? PolicyDecision(.refuse(RuleSet.inspectionFailed))
        report(request, decision)
        if decision.verdict == .discard { discarded = true }
        return decision
    }

    private mutating func report(_ request: PolicyRequest, _ decision: PolicyDecision) {
        let title: String
        switch request.point {
        case .connect: title = "  (client \(input.client))"
        case .helo: title = "  (\(request.facts.helo ?? ""))"
        case .mail: title = "  (from \(request.facts.sender.map { "\($0)" } ?? ""))"
        case .rcpt: title = "  (to \(request.facts.recipient.map { "\($0)" } ?? ""))"
        case .data, .message: title = ""
        }
        let traces = decision.trace
        for fact in decision.lookedUp { lines.append("  looked up: \(fact)") }
        if traces.isEmpty {
            for stage in request.point.stages { lines.append("stage \(stage.rawValue)\(title)") }
            if decision.notes.contains(where: { $0.kind == .decision && $0.rule == nil }) {
                lines.append("  built-in relay hygiene (RFC 2505): address has routing characters")
            }
        }
        for trace in traces {
            lines.append("stage \(trace.stage.rawValue)\(title)")
            for rule in trace.rules {
                lines.append("  \(rule.location)  \(rule.matched ? "MATCH   " : "no match")  \(rule.text)\(rule.observe ? " [observe]" : "")")
            }
            if let limit = trace.limitExceeded { lines.append("  \(limit.location)  pattern \(limit.pattern) hit its match limit") }
            for note in decision.notes where note.stage == trace.stage {
                switch note.kind {
                case .observed: lines.append("  observe: \(note.rule.map { "\($0)" } ?? "") \(note.text)")
                case .log: lines.append("  log: \(note.rule.map { "\($0)" } ?? "") \(note.text)")
                case .decision, .limitExceeded: break
                }
            }
            for edit in trace.headerEdits { lines.append("  header edit: \(Explainer.describe(edit))") }
            lines.append("  => \(Explainer.describe(trace.verdict))")
        }
        if !decision.tags.isEmpty { lines.append("  tags: \(decision.tags.joined(separator: ", "))") }
        switch decision.verdict {
        case .refuse(let reply) where traces.isEmpty || traces.last?.verdict == .greylist || traces.last?.verdict == .proceed:
            lines.append("  => refused: \(reply)")
        case .disconnect, .refuse, .discard, .proceed:
            if traces.isEmpty, case .proceed = decision.verdict { lines.append("  => no terminal rule: relayed") }
        }
    }
}
