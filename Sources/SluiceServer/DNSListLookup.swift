import NIOConcurrencyHelpers
import NIOCore
import SluiceDNS
import SluicePolicy

/// The DNS lists the rules read, all asked at once at connect, within the same budget as the client's
/// names: an answer in the list's codes is a hit, NXDOMAIN a miss; SERVFAIL, no answer in time or a
/// 127.255.255.x code is a failure (a rule that reads it defers).
enum DNSListLookup {
    /// Right-hand-side lists: `domain` under each list's zone; the answers keyed `NAME@FIELD`.
    static func lookUp(_ lists: [DNSList], domain: String, field: Field, resolver: DNSResolver?, budget: Double,
                       on eventLoop: EventLoop) -> EventLoopFuture<[String: DNSListResult]> {
        guard let resolver, !lists.isEmpty else { return eventLoop.makeSucceededFuture([:]) }
        return collect(lists.map { ($0, $0.key(for: field), $0.queryName(forDomain: domain)) }, resolver: resolver,
                       budget: budget, on: eventLoop)
    }

    static func lookUp(_ lists: [DNSList], client: IPAddress?, resolver: DNSResolver?, budget: Double,
                       on eventLoop: EventLoop) -> EventLoopFuture<[String: DNSListResult]> {
        guard !lists.isEmpty else { return eventLoop.makeSucceededFuture([:]) }
        // No resolver (`sluice explain` without `dns server`): not looked up, no fact.
        guard let resolver else { return eventLoop.makeSucceededFuture([:]) }
        guard let client else {
            // No address to look up (an XCLIENT ADDR=[UNAVAILABLE]): unknown.
            return eventLoop.makeSucceededFuture(Dictionary(uniqueKeysWithValues: lists.map { ($0.name, .failed) }))
        }
        return collect(lists.map { ($0, $0.key(for: .client), $0.queryName(for: client)) }, resolver: resolver,
                       budget: budget, on: eventLoop)
    }

    /// Asks every (list, key, query name) at once; what has not answered within `budget` is a failure.
    private static func collect(_ queries: [(DNSList, String, String)], resolver: DNSResolver, budget: Double,
                                on eventLoop: EventLoop) -> EventLoopFuture<[String: DNSListResult]> {
        let promise = eventLoop.makePromise(of: [String: DNSListResult].self)
        let results = NIOLockedValueBox<[String: DNSListResult]?>([:])
        let deadline = eventLoop.scheduleTask(in: .nanoseconds(Int64(budget * 1e9))) {
            // What has not answered by now is a failure.
            guard let partial = results.withLockedValue({ all in defer { all = nil }; return all }) else { return }
            var complete = partial
            for (_, key, _) in queries where complete[key] == nil { complete[key] = .failed }
            promise.succeed(complete)
        }
        for (list, key, name) in queries {
            resolver.lookup(name, .a) { answer in
                let result: DNSListResult
                switch answer {
                case .answer(let records, _):
                    result = list.result(answers: records.compactMap { record in
                        record.count == 4 ? record.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : nil
                    })
                case .nxdomain, .noData: result = .notListed
                case .serverFailure, .timedOut, .failed: result = .failed
                }
                let complete = results.withLockedValue { all -> [String: DNSListResult]? in
                    guard all != nil else { return nil }
                    all![key] = result
                    guard all!.count == queries.count else { return nil }
                    defer { all = nil }
                    return all
                }
                if let complete {
                    deadline.cancel()
                    promise.succeed(complete)
                }
            }
        }
        return promise.futureResult
    }
}
