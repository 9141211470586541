import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// The flood limits and the greeting checks with real sockets: refusals come before any upstream
/// connection, and are logged once per client per minute. The test clients connect from loopback,
/// which is exempt by default: these tests say `limit exempt none`.
@Suite struct FloodLimitTests {
    @Test func aClientOverItsConnectionLimitGets421AndCostsNoUpstreamConnection() async throws {
        try await withRules("limit exempt none\nlimit connections-per-client 2\n") { upstream, sluice in
            var open: [RawClient] = []
            for _ in 0..<2 {
                let client = try await RawClient.connect(port: sluice.port)
                #expect(await client.waitForReplies(1).first?.hasPrefix("220") == true)
                open.append(client)
            }
            for _ in 0..<4 {
                let refused = try await RawClient.connect(port: sluice.port)
                #expect(await refused.waitForClose())
                #expect(refused.replies == ["421 4.7.0 sluice.test Error: too many connections, try again later"], "got \(refused.replies)")
            }
            #expect(upstream.connections == 2, "a refused client never costs an upstream connection")
            #expect(sluice.log.messages.filter { $0.contains("limit connections-per-client") }.count == 1, "logged once a minute")
            for client in open { await client.close() }
            // (30 s: under ASan in CI, with every suite running, 10 s was not enough once.)
            #expect(await ClientFaultTests.waitUntil(seconds: 30) { sluice.server.openSessions == 0 })
            let again = try await RawClient.connect(port: sluice.port)
            #expect(await again.waitForReplies(1, seconds: 30).first?.hasPrefix("220") == true, "the sessions ended: the client is let in again")
            await again.close()
        }
    }

    @Test func connectionsOverTheServerLimitGet421WhoeverTheClientIs() async throws {
        // No `limit exempt none`: the server-wide limit holds for exempt (loopback) clients too.
        try await withRules("limit connections 2\n") { upstream, sluice in
            var open: [RawClient] = []
            for _ in 0..<2 {
                let client = try await RawClient.connect(port: sluice.port)
                #expect(await client.waitForReplies(1).first?.hasPrefix("220") == true)
                open.append(client)
            }
            let refused = try await RawClient.connect(port: sluice.port)
            #expect(await refused.waitForClose())
            #expect(refused.replies == ["421 4.7.0 sluice.test Error: too many connections, try again later"], "got \(refused.replies)")
            #expect(upstream.connections == 2, "a refused client never costs an upstream connection")
            #expect(sluice.log.messages.contains { $0.contains("limit connections") })
            for client in open { await client.close() }
        }
    }

    @Test func aClientConnectingFasterThanItsRateGets421() async throws {
        try await withRules("limit exempt none\nlimit connection-rate 3/min\n") { upstream, sluice in
            for _ in 0..<3 {
                let client = try await RawClient.connect(port: sluice.port)
                #expect(await client.waitForReplies(1).first?.hasPrefix("220") == true)
                try await client.send("QUIT\r\n")
                #expect(await client.waitForClose())
            }
            for _ in 0..<3 {
                let refused = try await RawClient.connect(port: sluice.port)
                #expect(await refused.waitForClose())
                #expect(refused.replies == ["421 4.7.0 sluice.test Error: too many connections, try again later"], "got \(refused.replies)")
            }
            #expect(upstream.connections == 3, "a refused client never costs an upstream connection")
            #expect(sluice.log.messages.filter { $0.contains("limit connection-rate") }.count == 1, "logged once a minute")
        }
    }

    @Test func theMessagesOfASessionAreLimited() async throws {
        try await withRules("limit messages-per-session 1\n") { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send("Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.example>\r\n")
            #expect(await client.waitForClose())
            #expect(client.replies.suffix(2) == ["250 2.0.0 Ok: queued", "421 4.7.0 sluice.test Error: too many messages in one session, try again later"],
                    "got \(client.replies)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func aClientThatTalksBeforeTheGreetingIsRefusedBeforeAnyUpstreamConnection() async throws {
        let clock = DeadlineClock.manual()
        try await withRelay(configure: { configuration in
            try? configuration.apply(rules: "limit exempt none\nlimit greet-delay 2s\n")
            configuration.deadlineClock = clock
        }) { upstream, sluice in
            let early = try await RawClient.connect(port: sluice.port)
            try await early.send("EHLO impatient.example\r\n")
            #expect(await early.waitForClose())
            #expect(early.replies == ["554 5.5.0 Error: protocol error, talked before the greeting"], "got \(early.replies)")
            #expect(upstream.connections == 0)
            #expect(sluice.log.messages.contains { $0.contains("talked before the greeting: refused") })

            let patient = try await RawClient.connect(port: sluice.port)
            let greeting = await patient.waitForReplies(1, advancing: clock, by: .seconds(1))
            #expect(greeting.first?.hasPrefix("220 sluice.test") == true, "greeted once the delay is over: \(greeting)")
            #expect(upstream.connections == 1)
            try await patient.send("QUIT\r\n")
            #expect(await patient.waitForClose())
        }
    }

    @Test func exemptClientsSkipTheGreetingDelay() async throws {
        // Loopback is exempt by default: greeted at once, the clock never moves.
        try await withRules("limit greet-delay 5m\nlimit connections-per-client 1\n") { upstream, sluice in
            let first = try await RawClient.connect(port: sluice.port)
            let second = try await RawClient.connect(port: sluice.port)
            #expect(await first.waitForReplies(1).first?.hasPrefix("220") == true)
            #expect(await second.waitForReplies(1).first?.hasPrefix("220") == true)
            await first.close()
            await second.close()
        }
    }
}
