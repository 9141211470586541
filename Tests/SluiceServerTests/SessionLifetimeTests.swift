import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// A finished session frees everything it held. A handler that kept its channel context alive once
/// leaked about 10 KiB per session, which no test of a single session could see.
@Suite struct SessionLifetimeTests {
    /// Waits (bounded) until no session is open and every handler is freed; returns what is left.
    /// Waits up to 30 s (90 under a sanitizer, see `Patience`): under ASan, with the other suites
    /// running, freeing a session stuck behind a 20 MiB message took longer than 10 s once in CI.
    private func handlersLeft(_ sluice: TestServer) async -> Int {
        let deadline = ContinuousClock.now + .seconds(30 * Patience.factor)
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

    /// The client leaves while its message is stuck on the way to an upstream that stopped reading: the
    /// QUIT Sluice queues behind it can never be written, so only the command timeout ends the wait.
    @Test func aClientLeavingWhileTheUpstreamStoppedReadingFreesItsHandlerAfterTheCommandTimeout() async throws {
        var script = UpstreamScript()
        script.stopReadingInData = true
        script.ehloLines.removeAll { $0.hasPrefix("SIZE") } // Sluice's own 25 MiB limit applies
        try await withRelay(script, configure: { $0.upstreamTimeouts.command = 1 }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            // 20 MiB: more than the loopback socket buffers hold, so Sluice's writes to the upstream stall.
            let line = String(repeating: "x", count: 1022) + "\r\n"
            try await client.send("Subject: stuck\r\n\r\n" + String(repeating: line, count: 20 * 1024) + ".\r\n")
            let stalled = ContinuousClock.now + .seconds(10 * Patience.factor)
            while upstream.commands.last != "DATA" || sluice.server.openSessions == 0, ContinuousClock.now < stalled {
                try? await Task.sleep(for: .milliseconds(20))
            }
            try? await Task.sleep(for: .milliseconds(300)) // the message is on its way and stuck
            await client.close()
            #expect(await handlersLeft(sluice) == 0, "the session handler is freed once the command timeout closes the upstream")
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
