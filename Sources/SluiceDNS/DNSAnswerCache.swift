import NIOConcurrencyHelpers

/// The resolver's own answers, kept for their TTL in front of libunbound's cache, so that a lookup
/// libunbound would answer from its cache is answered at once, on the caller's thread: no hop to
/// libunbound's thread and back (a hop costs more than the SPF check or DMARC lookup it waits for).
/// Answers, NODATA and NXDOMAIN are kept for the TTL libunbound gave them (a negative answer's is its
/// SOA minimum); failures and timeouts never are. Bounded: past `capacity` octets of record data the
/// expired entries go, and if that is not enough, all of them (libunbound still has its own cache).
public final class DNSAnswerCache: Sendable {
    struct Key: Hashable {
        var name: String
        var type: RecordType
    }

    struct Entry {
        var result: DNSResult
        /// Monotonic seconds.
        var expires: Double
        var size: Int
    }

    struct Contents {
        var entries: [Key: Entry] = [:]
        var size = 0
    }

    /// Octets of record data kept at most (names included).
    public let capacity: Int
    private let contents = NIOLockedValueBox(Contents())

    public init(capacity: Int = 4 << 20) {
        self.capacity = capacity
    }

    /// The answer for `name`/`type` if one is kept and its TTL has not run out, with the TTL left.
    public func answer(_ name: String, _ type: RecordType, now: Double) -> DNSResult? {
        let key = Key(name: Self.normalized(name), type: type)
        return contents.withLockedValue { contents -> DNSResult? in
            guard let entry = contents.entries[key] else { return nil }
            guard entry.expires > now else {
                contents.entries[key] = nil
                contents.size -= entry.size
                return nil
            }
            if case .answer(let records, _) = entry.result { return .answer(records, ttl: Int(entry.expires - now)) }
            return entry.result
        }
    }

    /// Keeps `result` for `ttl` seconds (capped at a day, as libunbound's `cache-max-ttl`); a failure,
    /// or a TTL of 0, is not kept.
    public func store(_ result: DNSResult, ttl: Int, for name: String, _ type: RecordType, now: Double) {
        guard ttl > 0, !result.isTemporaryFailure else { return }
        let key = Key(name: Self.normalized(name), type: type)
        var size = key.name.utf8.count + 16
        if case .answer(let records, _) = result { size += records.reduce(0) { $0 + $1.count + 16 } }
        guard size <= capacity / 4 else { return }
        let entry = Entry(result: result, expires: now + Double(min(ttl, 86_400)), size: size)
        contents.withLockedValue { contents in
            if let old = contents.entries.updateValue(entry, forKey: key) { contents.size -= old.size }
            contents.size += size
            guard contents.size > capacity else { return }
            contents.entries = contents.entries.filter { $0.value.expires > now }
            contents.size = contents.entries.values.reduce(0) { $0 + $1.size }
            if contents.size > capacity { contents = Contents() }
        }
    }

    /// Entries kept (for tests).
    public var count: Int { contents.withLockedValue { $0.entries.count } }

    /// Names are case-insensitive, with or without the root's dot.
    static func normalized(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }
}
