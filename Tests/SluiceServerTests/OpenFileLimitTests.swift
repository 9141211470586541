import Foundation
import SluiceTestSupport
import Testing

/// The real binary with a small descriptor limit (`prlimit`): the soft limit is raised to the hard one
/// at start, and running out of descriptors pauses accepting instead of spinning or crashing.
@Suite struct OpenFileLimitTests {
    @Test func theSoftLimitIsRaisedToTheHardLimitAndLogged() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)"],
                                             launcher: ["/usr/bin/prlimit", "--nofile=64:512", "--"])
        _ = await sluice.listeningPort()
        #expect(sluice.stderr.contains("open files: soft limit raised from 64 to 512 (the hard limit)"), "\(sluice.stderr)")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }

    @Test func runningOutOfDescriptorsPausesAcceptingAndRecovers() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0"],
                                             launcher: ["/usr/bin/prlimit", "--nofile=48:48", "--"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        // Far more clients than 48 descriptors allow (each session needs two): the kernel completes
        // their connections, Sluice cannot accept them all.
        var clients: [RawClient] = []
        for _ in 0..<60 { if let client = try? await RawClient.connect(port: port) { clients.append(client) } }
        let cpuBefore = sluice.cpuSeconds
        let deadline = ContinuousClock.now + .seconds(10 * Patience.factor)
        while !sluice.stderr.contains("cannot accept a connection"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(sluice.stderr.contains("cannot accept a connection: ") && sluice.stderr.contains("pausing new connections"),
                "\(sluice.stderr.suffix(2000))")
        try await Task.sleep(for: .seconds(2))
        // Out of descriptors with clients waiting: a spinning accept loop would burn the whole 2 s.
        let busy = sluice.cpuSeconds - cpuBefore
        #expect(busy < 1.0, "Sluice used \(busy) s of CPU in 2 s while out of descriptors")
        #expect(sluice.process.isRunning)
        for client in clients { await client.close() }

        // Descriptors come back: a new client is served and its message relayed.
        var delivered = false
        let retry = ContinuousClock.now + .seconds(15 * Patience.factor)
        while !delivered, ContinuousClock.now < retry {
            if let client = try? await RawClient.connect(port: port) {
                try? await client.startTransaction()
                try? await client.send("Subject: back\r\n\r\nbody\r\n.\r\nQUIT\r\n")
                delivered = await client.waitForReplies(7, seconds: 5).dropFirst(5).first?.hasPrefix("250") == true
                await client.close()
            }
            if !delivered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(delivered, "no message relayed after the descriptors came back")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }
}
