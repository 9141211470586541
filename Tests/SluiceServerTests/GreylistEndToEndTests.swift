import Foundation
import SluiceConfig
import SluicePolicy
import SluiceServer
import SluiceStore
import SluiceTestSupport
import Testing

/// Greylisting through the real relay, driven by smtplib, with a manual clock shared by every node.
@Suite struct GreylistEndToEndTests {
    private func send(port: Int, to: [String] = ["bob@example.com"]) async throws -> String {
        try await SMTPLibSender.send(port: port, from: "alice@sender.example", to: to, message: "Subject: g\r\n\r\nbody\r\n")
    }

    private func configure(_ rules: String, store: any GreylistStore, clock: ManualClock,
                           settings: @escaping (inout GreylistSettings) -> Void = { _ in }) -> (inout ServerConfiguration) -> Void {
        { configuration in
            try? configuration.apply(rules: rules)
            configuration.greylistStore = store
            configuration.clock = clock.function
            settings(&configuration.greylist)
        }
    }

    static let rules = """
        stage rcpt
          greylist
        """

    private func sqliteStore() throws -> (SQLiteGreylistStore, String) {
        let directory = try TemporaryDirectory.make(prefix: "sluice-grey")
        return (try SQLiteGreylistStore(path: directory + "/greylist.db"), directory)
    }

    @Test func firstAttemptIs451AtRcptAndTheRetryAfterTheDelayIsDelivered() async throws {
        let (store, directory) = try sqliteStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let metrics = testMetrics
        func decisions(_ result: String) -> Int64 {
            metrics.counters(label: "sluice_greylist_decisions_total", dimensions: [("result", result)]).map(\.totalValue).reduce(0, +)
        }
        let (deferredBefore, passedBefore) = (decisions("defer"), decisions("pass"))
        // Other tests run at the same time: the counters only grow, so compare with what they were.
        defer {
            #expect(decisions("defer") >= deferredBefore + 2, "both deferrals were counted")
            #expect(decisions("pass") >= passedBefore + 1, "the pass was counted")
        }
        try await withRelay(configure: configure(Self.rules, store: store, clock: clock)) { upstream, sluice in
            let first = try await send(port: sluice.port)
            #expect(first == "RCPT 451 4.7.1 Greylisted, please try again in 300 seconds", "\(first) \(sluice.log.messages)")
            #expect(upstream.messages.isEmpty)
            #expect(!upstream.commands.contains { $0.hasPrefix("RCPT") }, "a deferred RCPT never reaches the upstream")
            clock.advance(by: 120)
            let reply1 = try await send(port: sluice.port)
            #expect(reply1 == "RCPT 451 4.7.1 Greylisted, please try again in 180 seconds")
            clock.advance(by: 200)
            let reply2 = try await send(port: sluice.port)
            #expect(reply2 == "OK")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func perMessageModeDefersOnceAtDataAndNeverPartially() async throws {
        let (store, directory) = try sqliteStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        try await withRelay(configure: configure(Self.rules, store: store, clock: clock, settings: { $0.mode = .perMessage })) { upstream, sluice in
            let first = try await send(port: sluice.port, to: ["a@example.com", "b@example.com"])
            #expect(first == "DATA 451 4.7.1 Greylisted, please try again in 300 seconds", "\(first)")
            #expect(upstream.messages.isEmpty)
            clock.advance(by: 301)
            let reply3 = try await send(port: sluice.port, to: ["a@example.com", "b@example.com"])
            #expect(reply3 == "OK")
            #expect(upstream.messages.map(\.recipients) == [["a@example.com", "b@example.com"]])
        }
    }

    @Test func onErrorPassLetsMailThroughAndTempfailDefersIt() async throws {
        let clock = ManualClock()
        try await withRelay(configure: configure(Self.rules, store: FailingGreylistStore(), clock: clock)) { upstream, sluice in
            let reply4 = try await send(port: sluice.port)
            #expect(reply4 == "OK")
            #expect(upstream.messages.count == 1)
            #expect(sluice.log.messages.contains { $0.contains("greylist store failed") })
        }
        try await withRelay(configure: configure(Self.rules, store: FailingGreylistStore(), clock: clock, settings: { $0.onError = .tempfail })) { upstream, sluice in
            let reply5 = try await send(port: sluice.port)
            #expect(reply5 == "RCPT 451 4.3.0 Temporary failure, please try again later")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func rulesDecideWhoIsGreylisted() async throws {
        let (store, directory) = try sqliteStore()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let rules = """
            list trusted cidr { 127.0.0.0/8 }
            stage connect
              accept client in trusted tag internal
            stage rcpt
              greylist not tagged internal and not auth
            """
        try await withRelay(configure: configure(rules, store: store, clock: clock)) { upstream, sluice in
            let reply6 = try await send(port: sluice.port)
            #expect(reply6 == "OK", "trusted clients skip greylisting")
            #expect(try await store.stats(now: clock.now).pending == 0)
        }
    }

    @Test func twoNodesShareOnePostgresStore() async throws {
        let database = try await PostgresTestServer.start()
        let clock = ManualClock()
        do {
            let storeA = try PostgresGreylistStore(url: database.url)
            let storeB = try PostgresGreylistStore(url: database.url)
            let upstream = try await ScriptedUpstream.start()
            let nodeA = try await TestServer.start(upstreamPort: upstream.port, configure: configure(Self.rules, store: storeA, clock: clock))
            let nodeB = try await TestServer.start(upstreamPort: upstream.port, configure: configure(Self.rules, store: storeB, clock: clock))
            let reply7 = try await send(port: nodeA.port)
            #expect(reply7 == "RCPT 451 4.7.1 Greylisted, please try again in 300 seconds")
            clock.advance(by: 301)
            let reply8 = try await send(port: nodeB.port)
            #expect(reply8 == "OK", "greylisted through node A, passes through node B")
            #expect(upstream.messages.count == 1)
            await nodeA.stop()
            await nodeB.stop()
            await upstream.stop()
        } catch {
            await database.stop()
            throw error
        }
        await database.stop()
    }
}
