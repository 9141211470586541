import SluicePolicy

/// Where greylisting state lives. One atomic upsert per decision; every call runs off the event loops.
public protocol GreylistStore: Sendable {
    /// Applies a contact with `key` at `now` and calls back with the decision, on the store's own
    /// thread (never Swift's cooperative pool, never an event loop). Auto-allowed networks and
    /// permanent allow entries pass without touching the key.
    func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void)
    /// Entries whose network, sender or recipient contains `filter` (all when nil).
    func list(filter: String?, now: Int64) async throws -> [GreylistRow]
    /// Allow a network (`192.0.2.0/24`) or a sender domain permanently.
    func allow(_ entry: AllowEntry) async throws
    /// Forget one key; returns whether it existed.
    func forget(_ key: GreylistKey) async throws -> Bool
    func stats(now: Int64) async throws -> GreylistStats
    /// Removes keys not retried within the window and passed keys past their expiry.
    func expire(now: Int64, settings: GreylistSettings) async throws -> Int
    func close() async
}

extension GreylistStore {
    public func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings) async throws -> GreylistDecision {
        try await withCheckedThrowingContinuation { continuation in
            decide(key, now: now, settings: settings) { continuation.resume(with: $0) }
        }
    }
}

public struct GreylistRow: Hashable, Sendable {
    public var key: GreylistKey
    public var entry: GreylistEntry
}

public enum AllowEntry: Hashable, Sendable {
    case network(String)
    case senderDomain(String)
}

public struct GreylistStats: Hashable, Sendable {
    public var pending: Int
    public var passed: Int
    public var autoAllowedNetworks: Int
    public var allowEntries: Int
}

public enum GreylistStoreError: Error, CustomStringConvertible {
    case open(String)
    case query(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .open(let text): return "cannot open greylist store: \(text)"
        case .query(let text): return "greylist store query failed: \(text)"
        case .unavailable(let text): return "greylist store unavailable: \(text)"
        }
    }
}

/// A store that always fails, for tests of `greylist on-error`.
public struct FailingGreylistStore: GreylistStore {
    public init() {}
    public func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                       completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void) {
        completion(.failure(GreylistStoreError.unavailable("failing store")))
    }
    public func list(filter: String?, now: Int64) async throws -> [GreylistRow] { throw GreylistStoreError.unavailable("failing store") }
    public func allow(_ entry: AllowEntry) async throws { throw GreylistStoreError.unavailable("failing store") }
    public func forget(_ key: GreylistKey) async throws -> Bool { throw GreylistStoreError.unavailable("failing store") }
    public func stats(now: Int64) async throws -> GreylistStats { throw GreylistStoreError.unavailable("failing store") }
    public func expire(now: Int64, settings: GreylistSettings) async throws -> Int { 0 }
    public func close() async {}
}

/// The SQL both stores share: the greylisting transition of `Greylist.transition` as one upsert.
/// Parameters: 1 network, 2 sender, 3 recipient, 4 now, 5 delay, 6 retry window, 7 expire.
enum GreylistSQL {
    static func upsert(_ p: (Int) -> String) -> String {
        """
        INSERT INTO greylist (network, sender, recipient, first_seen, last_seen, passed, expires)
        VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)), \(p(4)), 0, 0)
        ON CONFLICT (network, sender, recipient) DO UPDATE SET
          first_seen = CASE
            WHEN greylist.passed = 1 AND greylist.expires >= \(p(4)) THEN greylist.first_seen
            WHEN greylist.passed = 1 THEN \(p(4))
            WHEN \(p(4)) - greylist.first_seen > \(p(6)) THEN \(p(4))
            ELSE greylist.first_seen END,
          passed = CASE
            WHEN greylist.passed = 1 AND greylist.expires >= \(p(4)) THEN 1
            WHEN greylist.passed = 1 THEN 0
            WHEN \(p(4)) - greylist.first_seen > \(p(6)) THEN 0
            WHEN \(p(4)) - greylist.first_seen >= \(p(5)) THEN 1
            ELSE 0 END,
          expires = CASE
            WHEN greylist.passed = 1 AND greylist.expires >= \(p(4)) THEN \(p(4)) + \(p(7))
            WHEN greylist.passed = 1 THEN 0
            WHEN \(p(4)) - greylist.first_seen > \(p(6)) THEN 0
            WHEN \(p(4)) - greylist.first_seen >= \(p(5)) THEN \(p(4)) + \(p(7))
            ELSE 0 END,
          last_seen = \(p(4))
        RETURNING first_seen, last_seen, passed, expires
        """
    }

    /// Counts a pass for the client network at most once an hour; at `autoAllow` passes it is allowed
    /// until now + expire. Parameters: 1 network, 2 now, 3 auto-allow count, 4 expire.
    static func countPass(_ p: (Int) -> String) -> String {
        """
        INSERT INTO greylist_networks (network, passes, last_counted, allowed_until)
        VALUES (\(p(1)), 1, \(p(2)), CASE WHEN \(p(3)) > 0 AND 1 >= \(p(3)) THEN \(p(2)) + \(p(4)) ELSE 0 END)
        ON CONFLICT (network) DO UPDATE SET
          passes = CASE WHEN \(p(2)) - greylist_networks.last_counted >= 3600 THEN greylist_networks.passes + 1 ELSE greylist_networks.passes END,
          last_counted = CASE WHEN \(p(2)) - greylist_networks.last_counted >= 3600 THEN \(p(2)) ELSE greylist_networks.last_counted END,
          allowed_until = CASE
            WHEN \(p(3)) > 0 AND (CASE WHEN \(p(2)) - greylist_networks.last_counted >= 3600 THEN greylist_networks.passes + 1 ELSE greylist_networks.passes END) >= \(p(3))
            THEN \(p(2)) + \(p(4)) ELSE greylist_networks.allowed_until END
        """
    }

    /// 1 network, 2 sender domain, 3 now: a row when the contact skips greylisting.
    static func allowed(_ p: (Int) -> String) -> String {
        """
        SELECT 1 FROM greylist_networks WHERE network = \(p(1)) AND allowed_until >= \(p(3))
        UNION ALL SELECT 1 FROM greylist_allow WHERE (kind = 'network' AND value = \(p(1))) OR (kind = 'domain' AND value = \(p(2)))
        LIMIT 1
        """
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS greylist (
          network TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
          first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, passed INTEGER NOT NULL, expires BIGINT NOT NULL,
          PRIMARY KEY (network, sender, recipient))
        """,
        "CREATE TABLE IF NOT EXISTS greylist_networks (network TEXT PRIMARY KEY, passes INTEGER NOT NULL, last_counted BIGINT NOT NULL, allowed_until BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS greylist_allow (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value))",
    ]

    /// 1 now, 2 retry window: keys not retried in time, and passed keys past their expiry.
    static func expire(_ p: (Int) -> String) -> String {
        "DELETE FROM greylist WHERE (passed = 0 AND \(p(1)) - first_seen > \(p(2))) OR (passed = 1 AND expires < \(p(1)))"
    }

    static func senderDomain(_ sender: String) -> String {
        sender.split(separator: "@").last.map(String.init) ?? ""
    }
}
