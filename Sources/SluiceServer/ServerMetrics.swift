import Metrics
import NIOConcurrencyHelpers
import NIOCore
import SluicePolicy
import SluiceSession

/// The counters, gauges and histograms sessions update, made once per server from one factory (the
/// Prometheus registry behind `metrics listen`, or swift-metrics' no-op one): swift-metrics handles are
/// meant to live long, and making one per event would ask the factory, under its lock, every time.
///
/// Every label is bounded: stage, verdict, rule (`file:line`), listener, reply class, reason, side,
/// outcome. Never an address, a domain or a subject.
final class ServerMetrics: Sendable {
    let factory: any MetricsFactory

    private let transactions: [TransactionOutcome.Status: Counter]
    private let greylistPassed: Counter
    private let greylistDeferred: Counter
    private let greylistStoreErrors: Counter
    private let limits: [String: Counter]
    private let sessionsActive: Meter
    private let sessionsClosed: [SessionEnd: Counter]
    private let replies: [Counter] // by class: 2xx … 5xx
    private let upstreamConnectErrors: Counter
    private let upstreamReplyLatency: Timer
    private let decisionLatency: [PolicyPoint: Timer]
    private let spoolMemory: Meter
    private let spoolDisk: Meter
    private let tls: [String: Counter] // "side/result"
    private let reloads: [String: Counter]
    /// Made on first use: the labels are bounded by the listeners and the rules loaded.
    private let sessionsOpened = NIOLockedValueBox<[String: Counter]>([:])
    private let ruleMatches = NIOLockedValueBox<[RuleMatch: Counter]>([:])

    private struct RuleMatch: Hashable {
        var stage: Stage
        var verdict: String
        var rule: RuleLocation?
        var observed: Bool
    }

    /// The limits `sluice_limits_tripped_total{limit}` counts.
    static let limitNames = ["connections", "connections-per-client", "connection-rate", "messages-per-session", "early-talker",
                             "message-size", "line-length", "errors", "header-size", "body-inspection", "mime-parts", "mime-depth"]
    static let points: [PolicyPoint] = [.connect, .helo, .mail, .rcpt, .data, .message]

    init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        var transactions: [TransactionOutcome.Status: Counter] = [:]
        for status in TransactionOutcome.Status.allCases {
            transactions[status] = counter("sluice_transactions_total", [("status", status.rawValue)])
        }
        self.transactions = transactions
        greylistPassed = counter("sluice_greylist_decisions_total", [("result", "pass")])
        greylistDeferred = counter("sluice_greylist_decisions_total", [("result", "defer")])
        greylistStoreErrors = counter("sluice_greylist_store_errors_total")
        limits = Self.limitNames.reduce(into: [:]) { $0[$1] = counter("sluice_limits_tripped_total", [("limit", $1)]) }
        sessionsActive = Meter(label: "sluice_sessions_active", factory: factory)
        sessionsClosed = SessionEnd.allCases.reduce(into: [:]) {
            $0[$1] = counter("sluice_sessions_closed_total", [("reason", $1.rawValue)])
        }
        replies = (2...5).map { counter("sluice_replies_total", [("class", "\($0)xx")]) }
        upstreamConnectErrors = counter("sluice_upstream_connect_errors_total")
        upstreamReplyLatency = Timer(label: "sluice_upstream_reply_seconds", factory: factory)
        decisionLatency = Self.points.reduce(into: [:]) {
            $0[$1] = Timer(label: "sluice_decision_seconds", dimensions: [("stage", $1.rawValue)], factory: factory)
        }
        spoolMemory = Meter(label: "sluice_spool_bytes", dimensions: [("where", "memory")], factory: factory)
        spoolDisk = Meter(label: "sluice_spool_bytes", dimensions: [("where", "disk")], factory: factory)
        var tls: [String: Counter] = [:]
        for side in ["client", "upstream"] {
            tls[side + "/ok"] = counter("sluice_tls_handshakes_total", [("side", side), ("result", "ok")])
            tls[side + "/failed"] = counter("sluice_tls_handshakes_total", [("side", side), ("result", "failed")])
        }
        self.tls = tls
        reloads = ["ok", "refused"].reduce(into: [:]) { $0[$1] = counter("sluice_reloads_total", [("outcome", $1)]) }
    }

    // MARK: Sessions

    func sessionOpened(listener: String) {
        let counter = sessionsOpened.withLockedValue { counters in
            if let counter = counters[listener] { return counter }
            let counter = Counter(label: "sluice_sessions_opened_total", dimensions: [("listener", listener)], factory: factory)
            counters[listener] = counter
            return counter
        }
        counter.increment()
        sessionsActive.increment()
    }

    func sessionClosed(_ reason: SessionEnd) {
        sessionsClosed[reason]?.increment()
        sessionsActive.decrement()
    }

    /// A connection refused before a session began (a PROXY header refused): closed, never active.
    func connectionRefused(_ reason: SessionEnd) {
        sessionsClosed[reason]?.increment()
    }

    /// A reply went to the client: `sluice_replies_total{class}`.
    func replied(code: Int) {
        let index = code / 100 - 2
        if index >= 0, index < replies.count { replies[index].increment() }
    }

    /// A limit refused a client or a command: `sluice_limits_tripped_total{limit}`.
    func limitTripped(_ limit: String) {
        limits[limit]?.increment()
    }

    func transactionEnded(_ status: TransactionOutcome.Status) {
        transactions[status]?.increment()
    }

    // MARK: Policy

    func decided(_ point: PolicyPoint, after nanoseconds: Int64) {
        decisionLatency[point]?.recordNanoseconds(max(0, nanoseconds))
    }

    func greylistDecided(_ result: GreylistResult) {
        switch result {
        case .pass: greylistPassed.increment()
        case .deferred: greylistDeferred.increment()
        case .storeFailed: greylistStoreErrors.increment()
        }
    }

    /// A rule decided (or, in observe mode, would have): `sluice_rule_matches_total{stage,verdict,rule,mode}`.
    func ruleMatched(_ note: PolicyNote) {
        let key = RuleMatch(stage: note.stage, verdict: note.verdict, rule: note.rule, observed: note.kind == .observed)
        let counter = ruleMatches.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: "sluice_rule_matches_total", dimensions: [
                ("stage", key.stage.rawValue), ("verdict", key.verdict), ("rule", key.rule?.description ?? "builtin"),
                ("mode", key.observed ? "observe" : "enforce"),
            ], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    // MARK: Upstream, TLS, spool, reloads

    func upstreamConnectFailed() {
        upstreamConnectErrors.increment()
    }

    func upstreamReplied(after nanoseconds: Int64) {
        upstreamReplyLatency.recordNanoseconds(max(0, nanoseconds))
    }

    enum Side: String { case client, upstream }

    func tlsHandshake(_ side: Side, succeeded: Bool) {
        tls[side.rawValue + (succeeded ? "/ok" : "/failed")]?.increment()
    }

    /// Message octets held in memory (positive: added, negative: freed).
    func spoolInMemory(_ delta: Int) {
        if delta > 0 { spoolMemory.increment(by: Double(delta)) } else if delta < 0 { spoolMemory.decrement(by: Double(-delta)) }
    }

    /// Message octets in spool files.
    func spoolOnDisk(_ delta: Int) {
        if delta > 0 { spoolDisk.increment(by: Double(delta)) } else if delta < 0 { spoolDisk.decrement(by: Double(-delta)) }
    }

    func reloaded(_ succeeded: Bool) {
        reloads[succeeded ? "ok" : "refused"]?.increment()
    }
}
