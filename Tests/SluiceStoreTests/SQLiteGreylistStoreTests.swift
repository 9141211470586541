import Foundation
import SluicePolicy
import SluiceStore
import SluiceTestSupport
import Testing

@Suite struct SQLiteGreylistStoreTests {
    func withStore(_ body: (SQLiteGreylistStore, String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-sqlite")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(try SQLiteGreylistStore(path: directory + "/greylist.db"), directory + "/greylist.db")
    }

    @Test func appliesEveryTransition() async throws { try await withStore { store, _ in try await StoreContract.transitions(store) } }
    @Test func autoAllowsANetworkAfterEnoughPasses() async throws { try await withStore { store, _ in try await StoreContract.autoAllow(store) } }
    @Test func countsPassesAtMostOnceAnHour() async throws { try await withStore { store, _ in try await StoreContract.passesCountedOncePerHour(store) } }
    @Test func listAllowForgetStatsAndExpire() async throws { try await withStore { store, _ in try await StoreContract.administration(store) } }

    @Test func stateSurvivesAnUncleanStop() async throws {
        try await withStore { store, path in
            let settings = GreylistSettings()
            _ = try await store.decide(StoreContract.key, now: 1_800_000_000, settings: settings)
            // The first store is never closed (as after kill -9); a second process opens the same file.
            let reopened = try SQLiteGreylistStore(path: path)
            #expect(try await reopened.decide(StoreContract.key, now: 1_800_000_000 + 300, settings: settings) == .pass)
            _ = store
        }
    }

    @Test func concurrentFirstContactsForOneKeyMakeOneEntry() async throws {
        try await withStore { store, _ in
            let settings = GreylistSettings()
            let results = try await withThrowingTaskGroup(of: GreylistDecision.self) { group in
                for _ in 0..<200 { group.addTask { try await store.decide(StoreContract.key, now: 1_800_000_000, settings: settings) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 200 && results.allSatisfy { $0 == .deferred(retryAfter: 300) })
            #expect(try await store.stats(now: 1_800_000_000).pending == 1)
        }
    }

    @Test func anUnopenableFileIsAClearError() {
        #expect(throws: GreylistStoreError.self) { try SQLiteGreylistStore(path: "/proc/no/such/dir/greylist.db") }
    }
}
