import Dispatch
import NIOConcurrencyHelpers
import SluicePolicy

/// Group commit for a store connection: decisions queue up while the connection's serial queue is busy,
/// and each run takes everything waiting as one batch (one transaction), answering every caller.
final class GroupCommit: Sendable {
    struct Pending: Sendable {
        let key: GreylistKey
        let now: Int64
        let settings: GreylistSettings
        let completion: @Sendable (Result<GreylistDecision, Error>) -> Void
    }

    private let queue: DispatchQueue
    private let pending = NIOLockedValueBox<(items: [Pending], scheduled: Bool)>(([], false))
    /// Runs one batch on `queue` and returns one result per item, in order.
    private let commit: @Sendable ([Pending]) -> [Result<GreylistDecision, Error>]

    init(queue: DispatchQueue, commit: @escaping @Sendable ([Pending]) -> [Result<GreylistDecision, Error>]) {
        self.queue = queue
        self.commit = commit
    }

    func enqueue(_ item: Pending) {
        let schedule = pending.withLockedValue { state -> Bool in
            state.items.append(item)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            let batch = pending.withLockedValue { state -> [Pending] in
                let items = state.items
                state.items = []
                if items.isEmpty { state.scheduled = false }
                return items
            }
            if batch.isEmpty { return }
            for (item, result) in zip(batch, commit(batch)) { item.completion(result) }
        }
    }
}
