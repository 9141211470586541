import Foundation
import SluiceTestSupport
import Testing

/// SIGHUP on the real binary: listen lines opened and closed, and reloads (good and bad) under a
/// running smtp-source load lose no acknowledged message.
@Suite struct ReloadTests {
    private func waitFor(_ seconds: Double = 10, _ condition: () -> Bool) async throws {
        let deadline = Patience.deadline(after: seconds)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition())
    }

    private func occurrences(_ text: String, in log: String) -> Int {
        log.components(separatedBy: text).count - 1
    }

    @Test func aReloadOpensNewListenLinesAndClosesRemovedOnes() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-relisten")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        let first = try FreePort.pick(), second = try FreePort.pick()
        let head = "upstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\n"
        try (head + "listen 127.0.0.1:\(first)\n").write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        #expect(await sluice.listeningPort() == first, "\(sluice.stderr)")
        // A session open on the first listener when it goes keeps going.
        let open = try await RawClient.connect(port: first)
        #expect(await open.waitForReplies(1).first?.hasPrefix("220") == true)

        try (head + "listen 127.0.0.1:\(second)\n").write(toFile: config, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try await waitFor { sluice.stderr.contains("reloaded:") }
        #expect(sluice.stderr.contains("listening on 127.0.0.1:\(second)"))
        #expect(sluice.stderr.contains("stopped listening on 127.0.0.1:\(first)"))
        let fresh = try await RawClient.connect(port: second)
        #expect(await fresh.waitForReplies(1).first?.hasPrefix("220") == true)
        await #expect(throws: (any Error).self) { _ = try await RawClient.connect(port: first) }
        try await open.send("EHLO c\r\nQUIT\r\n")
        #expect(await open.waitForReplies(3).map { String($0.prefix(3)) } == ["220", "250", "221"])

        // Both lines: the first is bound again, the second stays.
        try (head + "listen 127.0.0.1:\(second)\nlisten 127.0.0.1:\(first)\n").write(toFile: config, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try await waitFor { self.occurrences("reloaded:", in: sluice.stderr) == 2 }
        let again = try await RawClient.connect(port: first)
        #expect(await again.waitForReplies(1).first?.hasPrefix("220") == true)
        #expect(occurrences("listening on 127.0.0.1:\(second)", in: sluice.stderr) == 1, "not bound twice")
        await upstream.stop()
    }

    @Test func aListenLineThatCannotBeBoundIsLoggedAndTheRestApplies() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-relisten-busy")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        let port = try FreePort.pick()
        let head = "upstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\nlisten 127.0.0.1:\(port)\n"
        try head.write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        _ = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        // The upstream's own port is taken: that line fails, the running listener stays.
        try (head + "listen 127.0.0.1:\(upstream.port)\n").write(toFile: config, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try await waitFor { sluice.stderr.contains("reloaded:") }
        #expect(sluice.stderr.contains("reload: cannot listen on 127.0.0.1:\(upstream.port)"), "\(sluice.stderr)")
        let client = try await RawClient.connect(port: port)
        #expect(await client.waitForReplies(1).first?.hasPrefix("220") == true)
        await upstream.stop()
    }

    /// smtp-source keeps 10 sessions busy while good and bad configurations are loaded in turn: every
    /// message smtp-source saw acknowledged reached the upstream, once.
    @Test func reloadsUnderLoadLoseNoAcknowledgedMessage() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-reload-load")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        let good = [
            "upstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\nstage rcpt\n  reject rcpt.domain = \"never.example\" \"550 5.7.1 no\"\n",
            "upstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\nlist big domain { a.example, b.example, c.example }\nstage mail\n  reject sender.domain in big \"550 5.7.1 no\"\n",
        ]
        let bad = "upstream 127.0.0.1:\(upstream.port)\nstage rcpt\n  reject rcpt.domain = \n"
        try good[0].write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--shutdown-grace", "5"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")

        let messages = 1500
        async let load = ExternalTool.run("smtp-source", [
            "-s", "10", "-m", "\(messages)", "-l", "1024", "-f", "load@example.org", "-t", "sink@example.com", "127.0.0.1:\(port)"],
            timeout: 300)
        for round in 0..<10 {
            try (round % 2 == 0 ? bad : good[round / 2 % 2]).write(toFile: config, atomically: true, encoding: .utf8)
            sluice.signal(SIGHUP)
            try await Task.sleep(for: .milliseconds(150))
        }
        let result = try await load
        #expect(result.status == 0, "smtp-source: \(result.stderr)")
        try await waitFor { self.occurrences("reloaded:", in: sluice.stderr) + self.occurrences("reload refused", in: sluice.stderr) == 10 }
        #expect(occurrences("reload refused", in: sluice.stderr) == 5)
        #expect(upstream.messages.count == messages, "every message smtp-source had acknowledged arrived")
        #expect(occurrences("status=delivered", in: sluice.stderr) == messages)
        await upstream.stop()
    }
}
