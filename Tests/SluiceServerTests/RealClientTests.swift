import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// The relay driven by real SMTP clients: swaks, Python's smtplib and Postfix's smtp-source.
@Suite struct RealClientTests {
    @Test func swaksDeliversThroughSluiceWithATraceHeader() async throws {
        try await withRelay { upstream, sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob@example.com",
                "--helo", "client.example", "--header", "Subject: hello"])
            #expect(result.status == 0, "swaks failed: \(result.stdout)")
            #expect(result.stdout.contains("<-  250 2.0.0 Ok: queued"), "the client got the upstream's own 250")
            let messages = upstream.messages
            #expect(messages.count == 1)
            let message = try #require(messages.first)
            #expect(message.recipients == ["bob@example.com"])
            #expect(message.wireData.hasPrefix("Received: from client.example ([127.0.0.1])\r\n\tby sluice.test (Sluice) with ESMTP id "))
            // The session id: twelve characters of Postfix's queue-id alphabet, the same in the trace header
            // and at the start of the session's log lines.
            let id = try #require(message.wireData.firstMatch(of: /with ESMTP id ([0-9BCDFGHJKLMNPQRSTVWXYZ]{12})\r\n/)?.1)
            #expect(sluice.log.messages.contains { $0.hasPrefix("info \(id): connect from [127.0.0.1]:") }, "\(sluice.log.messages)")
            #expect(message.wireData.contains("Subject: hello"))
            #expect(upstream.commands.contains("MAIL FROM:<alice@example.org>"))
        }
    }

    @Test func smtplibSeesPerRecipientRejectionsAndTheMessageGoesToTheAcceptedOnly() async throws {
        var script = UpstreamScript()
        script.rejectRecipients["nobody@example.com"] = "550-5.1.1 <nobody@example.com>: Recipient address rejected:\r\n550 5.1.1 User unknown in local recipient table"
        try await withRelay(script) { upstream, sluice in
            let result = try await ExternalTool.python("""
                import smtplib, sys
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
                refused = s.sendmail("alice@example.org", ["bob@example.com", "nobody@example.com"], "Subject: t\\r\\n\\r\\nbody\\r\\n")
                code, text = refused["nobody@example.com"]
                print(code)
                print(text.decode())
                s.quit()
                """, ["\(sluice.port)"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("550\n5.1.1 <nobody@example.com>: Recipient address rejected:\n5.1.1 User unknown"),
                    "both lines of the upstream's reply reach the client: \(result.stdout)")
            #expect(upstream.messages.map(\.recipients) == [["bob@example.com"]])
        }
    }

    @Test func ehloAdvertisesOnlyWhatSluiceCarries() async throws {
        try await withRelay(configure: { $0.limits.messageSize = 5_000_000 }) { _, sluice in
            let result = try await ExternalTool.python("""
                import smtplib, sys
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
                s.ehlo("client.example")
                print(" ".join(sorted(s.esmtp_features.keys())))
                print(s.esmtp_features["size"])
                s.quit()
                """, ["\(sluice.port)"])
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.first == "8bitmime dsn enhancedstatuscodes pipelining size smtputf8", "got: \(result.stdout) \(result.stderr)")
            #expect(lines.dropFirst().first == "5000000", "SIZE is the smaller of upstream (10240000) and Sluice")
        }
    }

    @Test func smtpSourceWith100ConcurrentSessionsLosesNothing() async throws {
        try await withRelay { upstream, sluice in
            let result = try await ExternalTool.run("smtp-source", [
                "-s", "100", "-m", "500", "-l", "2048", "-f", "load@example.org", "-t", "sink@example.com",
                "127.0.0.1:\(sluice.port)"], timeout: 300)
            #expect(result.status == 0, "smtp-source: \(result.stderr)")
            #expect(upstream.messages.count == 500)
            #expect(upstream.messages.allSatisfy { $0.wireData.hasPrefix("Received: ") })
        }
    }

    @Test func largeMessageSpillsToDiskArrivesIntactAndLeavesNoFile() async throws {
        try await withRelay(configure: { $0.limits.memorySpoolThreshold = 16 * 1024 }) { upstream, sluice in
            let result = try await ExternalTool.python("""
                import smtplib, sys, hashlib
                lines = "".join("line %06d %s\\r\\n" % (i, "x" * 60) for i in range(40000))
                msg = "Subject: big\\r\\n\\r\\n" + lines
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
                s.sendmail("a@example.org", ["b@example.com"], msg)
                s.quit()
                print(len(msg))
                """, ["\(sluice.port)"])
            #expect(result.status == 0, "\(result.stderr)")
            let message = try #require(upstream.messages.first)
            let body = message.wireData.components(separatedBy: "Subject: big\r\n\r\n").last ?? ""
            #expect(body.utf8.count == 40000 * 74)
            #expect(body.hasPrefix("line 000000 ") && body.hasSuffix("line 039999 \(String(repeating: "x", count: 60))\r\n"))
            #expect(sluice.spoolFiles.isEmpty, "the spool file is gone")
        }
    }

    @Test func messageOverTheMemoryThresholdIsSpooledToAnUnlinkedFileAndReleased() async throws {
        var script = UpstreamScript()
        script.stallOn = "DATA"
        try await withRelay(script, configure: {
            $0.limits.memorySpoolThreshold = 16 * 1024
            // Long enough that a test task starved on a loaded host still finds the file open (Patience: 15 s under a sanitizer).
            $0.upstreamTimeouts.command = 5 * Patience.factor
        }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(5)
            try await client.send("Subject: spool\r\n\r\n" + String(repeating: String(repeating: "s", count: 70) + "\r\n", count: 4000) + ".\r\n")
            // While the upstream sits on DATA, the message is in an open, already unlinked file in the spool dir.
            let deadline = Patience.deadline(after: 10)
            while !upstream.commands.contains("DATA"), Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
            let spooled = openFiles(under: sluice.spoolDirectory)
            #expect(spooled.count == 1 && spooled.allSatisfy { $0.hasSuffix("(deleted)") }, "open spool files: \(spooled)")
            #expect(sluice.spoolFiles.isEmpty)
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("451 4.4.7") == true)
            try await Task.sleep(nanoseconds: 200_000_000)
            #expect(openFiles(under: sluice.spoolDirectory).isEmpty, "the spool file was closed")
            await client.close()
        }
    }

    /// Targets of this process's open file descriptors that lie under `directory`.
    private func openFiles(under directory: String) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
            .filter { $0.hasPrefix(directory) || $0.hasPrefix((directory as NSString).resolvingSymlinksInPath) }
    }

    @Test func transactionIsLoggedOnceWithEnvelopeSizeAndUpstreamReply() async throws {
        try await withRelay { _, sluice in
            _ = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "b@example.com"])
            try await Task.sleep(nanoseconds: 100_000_000)
            let outcome = sluice.log.messages.filter { $0.contains("status=") }
            #expect(outcome.count == 1)
            #expect(outcome.first?.contains("helo=") == true)
            #expect(outcome.first?.contains("from=<a@example.org> to=<b@example.com> size=") == true)
            #expect(outcome.first?.contains("status=delivered reply=\"250 2.0.0 Ok: queued\"") == true)
            #expect(sluice.log.messages.contains { $0.contains("connect from [127.0.0.1]") })
        }
    }
}
