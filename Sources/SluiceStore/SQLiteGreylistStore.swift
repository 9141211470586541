import CSQLite3
import Dispatch
import NIOConcurrencyHelpers
import SluicePolicy

/// The embedded store: one SQLite database in WAL mode (`synchronous=NORMAL`: a power cut may lose the
/// last moments of greylist state, never corrupt it), one connection on its own serial queue, prepared
/// statements, and group commit — every decision waiting when the queue runs goes into one transaction.
public final class SQLiteGreylistStore: GreylistStore, @unchecked Sendable {
    private let queue = DispatchQueue(label: "sluice.greylist.sqlite")
    private var db: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private var groupCommit: GroupCommit!

    public let path: String

    public init(path: String) throws {
        self.path = path
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw GreylistStoreError.open("\(path): \(message)")
        }
        db = handle
        do {
            try exec("PRAGMA journal_mode=WAL")
            try exec("PRAGMA synchronous=NORMAL")
            try exec("PRAGMA busy_timeout=2000")
            for statement in GreylistSQL.schema { try exec(statement) }
            // Weak: a batch queued on `queue` may run after the store is gone; its callers then hear so.
            groupCommit = GroupCommit(queue: queue) { [weak self] batch in
                guard let self else { return batch.map { _ in .failure(GreylistStoreError.unavailable("store closed")) } }
                return self.commit(batch)
            }
        } catch {
            sqlite3_close(handle)
            throw error
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    // MARK: Decisions (group commit)

    public func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                       completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void) {
        groupCommit.enqueue(.init(key: key, now: now, settings: settings, completion: completion))
    }

    /// One transaction for the whole batch.
    private func commit(_ batch: [GroupCommit.Pending]) -> [Result<GreylistDecision, Error>] {
        do {
            try exec("BEGIN IMMEDIATE")
            let results = batch.map { item in Result { try decideInTransaction(item.key, now: item.now, settings: item.settings) } }
            try exec("COMMIT")
            return results
        } catch {
            _ = try? exec("ROLLBACK")
            return batch.map { _ in .failure(error) }
        }
    }

    private func decideInTransaction(_ key: GreylistKey, now: Int64, settings: GreylistSettings) throws -> GreylistDecision {
        let allowed = try query(GreylistSQL.allowed(Self.parameter), [.text(key.network), .text(GreylistSQL.senderDomain(key.sender)), .int(now)])
        if !allowed.isEmpty { return .pass }
        let rows = try query(GreylistSQL.upsert(Self.parameter), [.text(key.network), .text(key.sender), .text(key.recipient), .int(now),
                                                               .int(settings.delay), .int(settings.retryWindow), .int(settings.expire)])
        guard let row = rows.first, row.count == 4 else { throw GreylistStoreError.query("upsert returned no row") }
        let entry = GreylistEntry(firstSeen: row[0], lastSeen: row[1], passed: row[2] == 1, expires: row[3])
        let decision = Greylist.decision(entry, now: now, settings: settings)
        if decision == .pass, settings.autoAllow > 0 {
            _ = try query(GreylistSQL.countPass(Self.parameter), [.text(key.network), .int(now), .int(Int64(settings.autoAllow)), .int(settings.expire)])
        }
        return decision
    }

    // MARK: Administration

    public func list(filter: String?, now: Int64) async throws -> [GreylistRow] {
        try await run {
            let pattern = "%" + (filter ?? "") + "%"
            return try self.queryRows("SELECT network, sender, recipient, first_seen, last_seen, passed, expires FROM greylist WHERE network LIKE ?1 OR sender LIKE ?1 OR recipient LIKE ?1 ORDER BY last_seen DESC", [.text(pattern)])
        }
    }

    public func allow(_ entry: AllowEntry) async throws {
        try await run {
            switch entry {
            case .network(let network): _ = try self.query("INSERT OR IGNORE INTO greylist_allow (kind, value) VALUES ('network', ?1)", [.text(network)])
            case .senderDomain(let domain): _ = try self.query("INSERT OR IGNORE INTO greylist_allow (kind, value) VALUES ('domain', ?1)", [.text(domain)])
            }
        }
    }

    public func forget(_ key: GreylistKey) async throws -> Bool {
        try await run {
            _ = try self.query("DELETE FROM greylist WHERE network = ?1 AND sender = ?2 AND recipient = ?3",
                               [.text(key.network), .text(key.sender), .text(key.recipient)])
            return sqlite3_changes(self.db) > 0
        }
    }

    public func stats(now: Int64) async throws -> GreylistStats {
        try await run {
            let counts = try self.query("""
                SELECT (SELECT count(*) FROM greylist WHERE passed = 0), (SELECT count(*) FROM greylist WHERE passed = 1),
                       (SELECT count(*) FROM greylist_networks WHERE allowed_until >= ?1), (SELECT count(*) FROM greylist_allow)
                """, [.int(now)])
            let row = counts.first ?? [0, 0, 0, 0]
            return GreylistStats(pending: Int(row[0]), passed: Int(row[1]), autoAllowedNetworks: Int(row[2]), allowEntries: Int(row[3]))
        }
    }

    public func expire(now: Int64, settings: GreylistSettings) async throws -> Int {
        try await run {
            _ = try self.query(GreylistSQL.expire(Self.parameter), [.int(now), .int(settings.retryWindow)])
            return Int(sqlite3_changes(self.db))
        }
    }

    public func close() async {}

    // MARK: SQLite plumbing (always on `queue`)

    private static func parameter(_ n: Int) -> String { "?\(n)" }

    private enum Value { case int(Int64), text(String) }

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw GreylistStoreError.query(String(cString: sqlite3_errmsg(db))) }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw GreylistStoreError.query(String(cString: sqlite3_errmsg(db)))
        }
        statements[sql] = statement
        return statement
    }

    /// Runs `sql` with `values`; returns the integer columns of every row.
    private func query(_ sql: String, _ values: [Value]) throws -> [[Int64]] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try bind(statement, values)
        var rows: [[Int64]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return rows }
            guard step == SQLITE_ROW else { throw GreylistStoreError.query(String(cString: sqlite3_errmsg(db))) }
            rows.append((0..<sqlite3_column_count(statement)).map { sqlite3_column_int64(statement, $0) })
        }
    }

    private func queryRows(_ sql: String, _ values: [Value]) throws -> [GreylistRow] {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        try bind(statement, values)
        var rows: [GreylistRow] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            func text(_ i: Int32) -> String { sqlite3_column_text(statement, i).map { String(cString: $0) } ?? "" }
            rows.append(GreylistRow(key: GreylistKey(network: text(0), sender: text(1), recipient: text(2)),
                                    entry: GreylistEntry(firstSeen: sqlite3_column_int64(statement, 3), lastSeen: sqlite3_column_int64(statement, 4),
                                                         passed: sqlite3_column_int64(statement, 5) == 1, expires: sqlite3_column_int64(statement, 6))))
        }
        return rows
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ statement: OpaquePointer, _ values: [Value]) throws {
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let result: Int32
            switch value {
            case .int(let number): result = sqlite3_bind_int64(statement, position, number)
            case .text(let text): result = sqlite3_bind_text(statement, position, text, -1, Self.transient)
            }
            guard result == SQLITE_OK else { throw GreylistStoreError.query(String(cString: sqlite3_errmsg(db))) }
        }
    }
}
