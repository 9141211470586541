import Foundation
import SluicePolicy
import SluiceStore
import SluiceTestSupport
import Testing

/// Against a real PostgreSQL server (a throwaway cluster per suite run), serialized: they share it.
@Suite(.serialized) struct PostgresGreylistStoreTests {
    func withDatabase(_ body: (PostgresTestServer) async throws -> Void) async throws {
        let server = try await PostgresTestServer.start()
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func appliesEveryTransitionAndAdministration() async throws {
        try await withDatabase { server in
            let store = try PostgresGreylistStore(url: server.url)
            try await StoreContract.transitions(store)
            try await StoreContract.autoAllow(store)
            try await StoreContract.passesCountedOncePerHour(store)
            try await StoreContract.administration(store)
            await store.close()
        }
    }

    @Test func twoNodesRacingOnOneKeyCreateExactlyOneEntry() async throws {
        try await withDatabase { server in
            let nodeA = try PostgresGreylistStore(url: server.url)
            let nodeB = try PostgresGreylistStore(url: server.url)
            let settings = GreylistSettings()
            let now: Int64 = 1_800_000_000
            let results = try await withThrowingTaskGroup(of: GreylistDecision.self) { group in
                for n in 0..<200 {
                    let store = n % 2 == 0 ? nodeA : nodeB
                    group.addTask { try await store.decide(StoreContract.key, now: now, settings: settings) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 200 && results.allSatisfy { $0 == .deferred(retryAfter: 300) })
            #expect(try await nodeA.stats(now: now).pending == 1)
            // Greylisted through A, passes through B after the delay.
            #expect(try await nodeB.decide(StoreContract.key, now: now + 300, settings: settings) == .pass)
            #expect(try await nodeA.decide(StoreContract.key, now: now + 301, settings: settings) == .pass)
            await nodeA.close()
            await nodeB.close()
        }
    }

    @Test func databaseStoppedIsAnErrorAndTheStoreRecoversWhenItReturns() async throws {
        try await withDatabase { server in
            let store = try PostgresGreylistStore(url: server.url, poolSize: 1)
            let settings = GreylistSettings()
            _ = try await store.decide(StoreContract.key, now: 1_800_000_000, settings: settings)
            await server.stopServer()
            await #expect(throws: GreylistStoreError.self) {
                _ = try await store.decide(StoreContract.key, now: 1_800_000_100, settings: settings)
            }
            try await server.startServer()
            #expect(try await store.decide(StoreContract.key, now: 1_800_000_300, settings: settings) == .pass,
                    "reconnected, and the state from before the restart is there")
            await store.close()
        }
    }

    @Test func unreachableDatabaseIsAClearErrorAtStart() throws {
        #expect(throws: GreylistStoreError.self) { try PostgresGreylistStore(url: "postgresql://postgres@127.0.0.1:1/sluice") }
    }
}
