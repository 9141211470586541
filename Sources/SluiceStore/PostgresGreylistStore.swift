#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import CLibPQ
import Dispatch
import NIOConcurrencyHelpers
import SluicePolicy

/// The store for several Sluice nodes: PostgreSQL through libpq. A small pool of connections, each on
/// its own serial queue with prepared statements and group commit; one atomic
/// `INSERT … ON CONFLICT … DO UPDATE … RETURNING` per decision, so two nodes never race a
/// read-then-write. `synchronous_commit = off`: a database crash may lose the last moments of greylist
/// state, never corrupt it. A connection that breaks (the database restarted) is re-opened on next use.
public final class PostgresGreylistStore: GreylistStore, @unchecked Sendable {
    private let connections: [Connection]
    private let next = NIOLockedValueBox(0)
    public let url: String

    public init(url: String, poolSize: Int = 4) throws {
        self.url = url
        connections = (0..<max(1, poolSize)).map { Connection(url: url, index: $0) }
        // Open one now so a bad URL or an unreachable database is a start-up error; it creates the schema.
        try connections[0].queue.sync { try connections[0].ensureOpen() }
    }

    private func connection() -> Connection {
        let index = next.withLockedValue { value -> Int in
            value = (value + 1) % connections.count
            return value
        }
        return connections[index]
    }

    public func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                       completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void) {
        connection().decide(key, now: now, settings: settings, completion: completion)
    }

    public func list(filter: String?, now: Int64) async throws -> [GreylistRow] {
        try await connections[0].run { c in
            let pattern = "%" + (filter ?? "") + "%"
            let rows = try c.execute("SELECT network, sender, recipient, first_seen, last_seen, passed, expires FROM greylist WHERE network LIKE $1 OR sender LIKE $1 OR recipient LIKE $1 ORDER BY last_seen DESC", [pattern])
            return rows.map { r in
                GreylistRow(key: GreylistKey(network: r[0], sender: r[1], recipient: r[2]),
                            entry: GreylistEntry(firstSeen: Int64(r[3]) ?? 0, lastSeen: Int64(r[4]) ?? 0, passed: r[5] == "1", expires: Int64(r[6]) ?? 0))
            }
        }
    }

    public func allow(_ entry: AllowEntry) async throws {
        try await connections[0].run { c in
            switch entry {
            case .network(let value): _ = try c.execute("INSERT INTO greylist_allow (kind, value) VALUES ('network', $1) ON CONFLICT DO NOTHING", [value])
            case .senderDomain(let value): _ = try c.execute("INSERT INTO greylist_allow (kind, value) VALUES ('domain', $1) ON CONFLICT DO NOTHING", [value])
            }
        }
    }

    public func forget(_ key: GreylistKey) async throws -> Bool {
        try await connections[0].run { c in
            !(try c.execute("DELETE FROM greylist WHERE network = $1 AND sender = $2 AND recipient = $3 RETURNING 1",
                            [key.network, key.sender, key.recipient])).isEmpty
        }
    }

    public func stats(now: Int64) async throws -> GreylistStats {
        try await connections[0].run { c in
            let row = try c.execute("""
                SELECT (SELECT count(*) FROM greylist WHERE passed = 0), (SELECT count(*) FROM greylist WHERE passed = 1),
                       (SELECT count(*) FROM greylist_networks WHERE allowed_until >= $1), (SELECT count(*) FROM greylist_allow)
                """, [String(now)]).first ?? ["0", "0", "0", "0"]
            return GreylistStats(pending: Int(row[0]) ?? 0, passed: Int(row[1]) ?? 0, autoAllowedNetworks: Int(row[2]) ?? 0, allowEntries: Int(row[3]) ?? 0)
        }
    }

    /// Only the node holding the advisory lock cleans up; the others skip.
    public func expire(now: Int64, settings: GreylistSettings) async throws -> Int {
        try await connections[0].run { c in
            guard try c.execute("SELECT pg_try_advisory_lock(74110)", []).first?.first == "t" else { return 0 }
            defer { _ = try? c.execute("SELECT pg_advisory_unlock(74110)", []) }
            return try c.execute(GreylistSQL.expire(Connection.typed([1, 2])) + " RETURNING 1", [String(now), String(settings.retryWindow)]).count
        }
    }

    public func close() async {
        for connection in connections { connection.queue.sync { connection.close() } }
    }
}

/// One libpq connection and the serial queue that owns it.
final class Connection: @unchecked Sendable {
    let queue: DispatchQueue
    private let url: String
    private var conn: OpaquePointer?
    private var preparedNames: Set<String> = []
    private var groupCommit: GroupCommit!

    init(url: String, index: Int) {
        self.url = url
        queue = DispatchQueue(label: "sluice.greylist.postgres.\(index)")
        // Weak: a batch queued on `queue` may run after the connection is gone; its callers then hear so.
        groupCommit = GroupCommit(queue: queue) { [weak self] batch in
            guard let self else { return batch.map { _ in .failure(GreylistStoreError.unavailable("store closed")) } }
            return self.commit(batch)
        }
    }

    func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    func ensureOpen() throws {
        if let conn, PQstatus(conn) == CONNECTION_OK { return }
        close()
        preparedNames = []
        let keys = ["dbname", "connect_timeout", "application_name"]
        let values = [url, "2", "sluice"]
        let opened: OpaquePointer? = withArrayOfCStrings(keys) { k in
            withArrayOfCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let opened, PQstatus(opened) == CONNECTION_OK else {
            let message = opened.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let opened { PQfinish(opened) }
            throw GreylistStoreError.unavailable(message.trimmingSuffixNewlines())
        }
        conn = opened
        _ = try execute("SET synchronous_commit TO off", [])
        _ = try execute("SET statement_timeout TO 2000", [])
        _ = try execute("SET client_min_messages TO warning", [])
        // Nodes starting together must not race on CREATE TABLE.
        _ = try execute("SELECT pg_advisory_lock(74111)", [])
        defer { _ = try? execute("SELECT pg_advisory_unlock(74111)", []) }
        for statement in GreylistSQL.schema { _ = try execute(statement, []) }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    try self.ensureOpen()
                    return try body(self)
                })
            }
        }
    }

    func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void) {
        groupCommit.enqueue(.init(key: key, now: now, settings: settings, completion: completion))
    }

    /// One transaction for the whole batch; if any decision fails, each is retried on its own so one
    /// bad key cannot sink the others.
    private func commit(_ batch: [GroupCommit.Pending]) -> [Result<GreylistDecision, Error>] {
        do {
            try ensureOpen()
            _ = try execute("BEGIN", [])
            var results = batch.map { item in Result { try decideInTransaction(item.key, now: item.now, settings: item.settings) } }
            if results.contains(where: { if case .failure = $0 { return true } else { return false } }) {
                _ = try? execute("ROLLBACK", [])
                results = batch.map { item in Result { try decideInTransaction(item.key, now: item.now, settings: item.settings) } }
            } else {
                _ = try execute("COMMIT", [])
            }
            return results
        } catch {
            if let conn, PQtransactionStatus(conn) != PQTRANS_IDLE { _ = try? execute("ROLLBACK", []) }
            return batch.map { _ in .failure(error) }
        }
    }

    private func decideInTransaction(_ key: GreylistKey, now: Int64, settings: GreylistSettings) throws -> GreylistDecision {
        let domain = GreylistSQL.senderDomain(key.sender)
        if !(try prepared("allowed", GreylistSQL.allowed(Self.typed([3])), [key.network, domain, String(now)])).isEmpty { return .pass }
        let rows = try prepared("upsert", GreylistSQL.upsert(Self.typed([4, 5, 6, 7])),
                                [key.network, key.sender, key.recipient, String(now), String(settings.delay),
                                 String(settings.retryWindow), String(settings.expire)])
        guard let row = rows.first, row.count == 4 else { throw GreylistStoreError.query("upsert returned no row") }
        let entry = GreylistEntry(firstSeen: Int64(row[0]) ?? 0, lastSeen: Int64(row[1]) ?? 0, passed: row[2] == "1", expires: Int64(row[3]) ?? 0)
        let decision = Greylist.decision(entry, now: now, settings: settings)
        if decision == .pass, settings.autoAllow > 0 {
            _ = try prepared("count", GreylistSQL.countPass(Self.typed([2, 3, 4])),
                             [key.network, String(now), String(settings.autoAllow), String(settings.expire)])
        }
        return decision
    }

    /// PostgreSQL placeholders, with the integer ones cast (the server cannot infer `$4 + $7`).
    static func typed(_ integers: Set<Int>) -> (Int) -> String {
        { integers.contains($0) ? "$\($0)::bigint" : "$\($0)" }
    }

    /// Runs a named prepared statement (prepared on first use on this connection).
    private func prepared(_ name: String, _ sql: String, _ values: [String]) throws -> [[String]] {
        guard let conn else { throw GreylistStoreError.unavailable("not connected") }
        if !preparedNames.contains(name) {
            let result = PQprepare(conn, name, sql, Int32(values.count), nil)
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw error(result) }
            preparedNames.insert(name)
        }
        let result = withArrayOfCStrings(values) { pointers in
            PQexecPrepared(conn, name, Int32(values.count), pointers, nil, nil, 0)
        }
        return try rows(result)
    }

    /// Runs `sql` with text parameters; returns every row as text.
    func execute(_ sql: String, _ values: [String]) throws -> [[String]] {
        guard let conn else { throw GreylistStoreError.unavailable("not connected") }
        let result = withArrayOfCStrings(values) { pointers in
            PQexecParams(conn, sql, Int32(values.count), nil, pointers, nil, nil, 0)
        }
        return try rows(result)
    }

    private func rows(_ result: OpaquePointer?) throws -> [[String]] {
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else { throw error(result) }
        let count = PQntuples(result), fields = PQnfields(result)
        return (0..<count).map { row in (0..<fields).map { String(cString: PQgetvalue(result, row, $0)) } }
    }

    private func error(_ result: OpaquePointer?) -> GreylistStoreError {
        let message = result.flatMap { String(cString: PQresultErrorMessage($0)) } ?? ""
        let connection = conn.map { String(cString: PQerrorMessage($0)) } ?? ""
        if let conn, PQstatus(conn) != CONNECTION_OK { close(); return .unavailable(connection.trimmingSuffixNewlines()) }
        return .query((message.isEmpty ? connection : message).trimmingSuffixNewlines())
    }
}

extension String {
    func trimmingSuffixNewlines() -> String {
        var text = self
        while let last = text.unicodeScalars.last, last == "\n" || last == "\r" { text.unicodeScalars.removeLast() }
        return text
    }

}

/// Calls `body` with a NULL-terminated C array of C strings.
func withArrayOfCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    pointers.append(nil)
    return body(pointers.map { UnsafePointer($0) })
}
