import NIOConcurrencyHelpers

/// DNS records parsed once by their text: the same few records (a provider's SPF include, a big
/// sender's policy, its DKIM selectors) answer most checks, and the resolver already keeps the answer.
/// What a parse gives is kept, an error included. Bounded: emptied at `capacity` entries.
final class ParsedRecordCache<Value: Sendable>: Sendable {
    private let entries = NIOLockedValueBox<[String: Value]>([:])
    let capacity: Int

    init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    /// The parsed record for `text`: kept, or parsed by `parse` (outside the lock) and kept.
    func value(_ text: String, parse: (String) -> Value) -> Value {
        if let hit = entries.withLockedValue({ $0[text] }) { return hit }
        let parsed = parse(text)
        let capacity = capacity
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = parsed
        }
        return parsed
    }

    var count: Int { entries.withLockedValue { $0.count } }
}
