import Metrics
import SluiceSession

/// The counters every session increments, made once per server (swift-metrics counters are meant to
/// live long; making one per event asks the metrics system's factory every time).
final class ServerMetrics: Sendable {
    private let transactions: [TransactionOutcome.Status: Counter]

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
}
