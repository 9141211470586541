import Metrics
import NIOConcurrencyHelpers
import SluicePolicy
import SluiceSession

/// The counters sessions increment, made once per server (swift-metrics counters are meant to live
/// long; making one per event asks the metrics system's factory every time, under its lock).
final class ServerMetrics: Sendable {
    private let transactions: [TransactionOutcome.Status: Counter]
    private let greylistPassed = Counter(label: "sluice_greylist_decisions_total", dimensions: [("result", "pass")])
    private let greylistDeferred = Counter(label: "sluice_greylist_decisions_total", dimensions: [("result", "defer")])
    private let greylistStoreErrors = Counter(label: "sluice_greylist_store_errors_total")
    private let limits = ["connections", "connections-per-client", "connection-rate"].reduce(into: [String: Counter]()) {
        $0[$1] = Counter(label: "sluice_limits_tripped_total", dimensions: [("limit", $1)])
    }

    /// A flood limit refused a client: `sluice_limits_tripped_total{limit}`.
    func limitTripped(_ limit: String) {
        limits[limit]?.increment()
    }
    /// One counter per (stage, verdict, rule, mode) seen, made on first use: the labels are bounded by the
    /// rules loaded (never an address or a subject).
    private let ruleMatches = NIOLockedValueBox<[RuleMatch: Counter]>([:])

    private struct RuleMatch: Hashable {
        var stage: Stage
        var verdict: String
        var rule: RuleLocation?
        var observed: Bool
    }

    init() {
        var transactions: [TransactionOutcome.Status: Counter] = [:]
        for status in TransactionOutcome.Status.allCases {
            transactions[status] = Counter(label: "sluice_transactions_total", dimensions: [("status", status.rawValue)])
        }
        self.transactions = transactions
    }

    func transactionEnded(_ status: TransactionOutcome.Status) {
        transactions[status]?.increment()
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
            ])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
