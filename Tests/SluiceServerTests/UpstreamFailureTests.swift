import Foundation
import NIOPosix
import SluiceTestSupport
import Testing

/// Nothing lost, nothing falsely acknowledged: every upstream failure becomes a 4xx at its stage.
@Suite struct UpstreamFailureTests {
    @Test func unreachableUpstreamGives421AndCloses() async throws {
        // A port nobody listens on, and nobody can take while the test runs: bound, never listening
        // (a closed port could be reused by a test running beside this one).
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} } // bound until the test ends
        let deadPort = refusing.port
        let sluice = try await TestServer.start(upstreamPort: deadPort)
        let client = try await RawClient.connect(port: sluice.port)
        let replies = await client.waitForReplies(1)
        #expect(replies.first?.hasPrefix("421 4.4.0") == true, "got \(replies)")
        #expect(await client.waitForClose())
        await sluice.stop()
    }

    @Test func upstreamRefusingDataIsTheAnswerToTheFinalDot() async throws {
        var script = UpstreamScript()
        script.dataReply = "554 5.5.1 Error: no valid recipients"
        try await withRelay(script) { upstream, sluice in
            let result = try await ExternalTool.python("""
                import smtplib, sys
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
                try:
                    s.sendmail("a@example.org", ["b@example.com"], "Subject: t\\r\\n\\r\\nbody\\r\\n")
                    print("accepted")
                except smtplib.SMTPDataError as e:
                    print(e.smtp_code, e.smtp_error.decode())
                s.quit()
                """, ["\(sluice.port)"])
            #expect(result.stdout.hasPrefix("554 5.5.1 Error: no valid recipients"), "\(result.stdout) \(result.stderr)")
            // Sluice closed the upstream's transaction on its own (RSET) so the next MAIL works.
            #expect(upstream.commands.suffix(2) == ["RSET", "QUIT"])
        }
    }

    @Test func upstreamDroppingMidDataGives451NeverA250() async throws {
        var script = UpstreamScript()
        script.dropDuringData = true
        try await withRelay(script) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send("Subject: d\r\n\r\n" + String(repeating: "z", count: 100) + "\r\n.\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("451 4.4.2") == true, "got \(replies)")
            #expect(!replies.dropFirst(5).contains { $0.hasPrefix("250") })
            try await client.send("MAIL FROM:<a@b.example>\r\n")
            let after = await client.waitForReplies(7)
            #expect(after.last?.hasPrefix("421 4.4.2") == true, "the session cannot go on without its upstream")
            #expect(await client.waitForClose())
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func upstreamStallingAtTheFinalDotTimesOutAs451() async throws {
        var script = UpstreamScript()
        script.stallOn = "."
        try await withRelay(script, configure: { $0.upstreamTimeouts.endOfData = 0.5 }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send("Subject: s\r\n\r\nbody\r\n.\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("451 4.4.7") == true, "got \(replies)")
            await client.close()
        }
    }

    @Test func upstreamStallingOnACommandTimesOut() async throws {
        var script = UpstreamScript()
        script.stallOn = "RCPT"
        try await withRelay(script, configure: { $0.upstreamTimeouts.command = 0.5 }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\n")
            let replies = await client.waitForReplies(4)
            #expect(replies.last?.hasPrefix("451 4.4.7") == true, "got \(replies)")
            await client.close()
        }
    }

    @Test func upstreamThatNeverGreetsGives421WithinTheConnectTimeout() async throws {
        var script = UpstreamScript()
        script.greeting = nil
        try await withRelay(script, configure: { $0.upstreamTimeouts.connect = 0.5 }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            let replies = await client.waitForReplies(1, seconds: 10)
            #expect(replies.first?.hasPrefix("421 4.4.0") == true, "got \(replies)")
            #expect(await client.waitForClose())
        }
    }

    @Test func malformedGreetingGives421AndClose() async throws {
        var script = UpstreamScript()
        script.greeting = "" // sends a blank line: a malformed greeting
        try await withRelay(script) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            let replies = await client.waitForReplies(1)
            #expect(replies.first?.hasPrefix("421 4.4.0") == true, "got \(replies)")
            #expect(await client.waitForClose())
        }
    }
}
