import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// A finished session frees everything it held. A handler that kept its channel context alive once
/// leaked about 10 KiB per session, which no test of a single session could see.
@Suite struct SessionLifetimeTests {
    /// Waits (bounded) until no session is open and every handler is freed; returns what is left.
    private func handlersLeft(_ sluice: TestServer) async -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if sluice.server.openSessions == 0 && sluice.server.sessionHandlersAlive == 0 { return 0 }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return sluice.server.sessionHandlersAlive
    }

    @Test func sessionsEndingWithQuitFreeTheirHandlers() async throws {
        try await withRelay { upstream, sluice in
            let result = try await ExternalTool.run("smtp-source", [
                "-s", "10", "-m", "50", "-l", "4096", "-f", "load@example.org", "-t", "sink@example.com",
                "127.0.0.1:\(sluice.port)"], timeout: 120)
            #expect(result.status == 0, "smtp-source: \(result.stderr)")
            #expect(upstream.messages.count == 50)
            #expect(await handlersLeft(sluice) == 0)
        }
    }

    @Test func sessionsTheClientDropsFreeTheirHandlers() async throws {
        try await withRelay { _, sluice in
            for _ in 0..<5 {
                let client = try await RawClient.connect(port: sluice.port)
                try await client.startTransaction()
                try await client.send("Subject: half\r\n\r\npart of a body")
                await client.close()
            }
            #expect(await handlersLeft(sluice) == 0)
        }
    }

    @Test func sessionsWhoseUpstreamFailsFreeTheirHandlers() async throws {
        var script = UpstreamScript()
        script.dropDuringData = true
        try await withRelay(script) { _, sluice in
            for _ in 0..<5 {
                let client = try await RawClient.connect(port: sluice.port)
                try await client.startTransaction()
                try await client.send("Subject: dropped\r\n\r\nbody\r\n.\r\nQUIT\r\n")
                #expect(await client.waitForClose())
            }
            #expect(await handlersLeft(sluice) == 0)
        }
    }
}
