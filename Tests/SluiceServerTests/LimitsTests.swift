import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// Each limit, enforced with the right reply.
@Suite struct LimitsTests {
    @Test func declaredSizeOverTheLimitIs552AtMail() async throws {
        try await withRelay(configure: { $0.limits.messageSize = 10_000 }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example> SIZE=10001\r\nMAIL FROM:<a@b.example> SIZE=10000\r\n")
            let replies = await client.waitForReplies(4)
            #expect(replies[2].hasPrefix("552 5.3.4"))
            #expect(replies[3].hasPrefix("250"))
            #expect(client.replyLines.contains("250-SIZE 10000"), "the value advertised is the value enforced")
            #expect(upstream.commands.filter { $0.hasPrefix("MAIL") } == ["MAIL FROM:<a@b.example> SIZE=10000"])
            await client.close()
        }
    }

    @Test func messageGrowingPastTheLimitIs552AtTheDotAndNothingReachesTheUpstream() async throws {
        try await withRelay(configure: { $0.limits.messageSize = 10_000 }) { upstream, sluice in
            let result = try await ExternalTool.python("""
                import smtplib, sys
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
                s.ehlo()
                s.esmtp_features.pop("size")  # do not declare SIZE: the message just grows
                try:
                    s.sendmail("a@example.org", ["b@example.com"], "Subject: t\\r\\n\\r\\n" + ("x" * 70 + "\\r\\n") * 300)
                    print("accepted")
                except smtplib.SMTPDataError as e:
                    print(e.smtp_code, e.smtp_error.decode())
                s.quit()
                """, ["\(sluice.port)"])
            #expect(result.stdout.hasPrefix("552 5.3.4"), "\(result.stdout) \(result.stderr)")
            #expect(upstream.messages.isEmpty)
            #expect(!upstream.commands.contains("DATA"))
        }
    }

    @Test func recipientsOverTheLimitGet452() async throws {
        try await withRelay(configure: { $0.limits.recipients = 2 }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<1@y.example>\r\nRCPT TO:<2@y.example>\r\nRCPT TO:<3@y.example>\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("452 4.5.3") == true)
            #expect(upstream.commands.filter { $0.hasPrefix("RCPT") }.count == 2)
            await client.close()
        }
    }

    @Test func tooManyErrorsGive421AndClose() async throws {
        try await withRelay(configure: { $0.limits.errors = 3 }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("BAD\r\nBAD\r\nBAD\r\nBAD\r\nNOOP\r\n")
            #expect(await client.waitForClose())
            #expect(client.replies.map { String($0.prefix(9)) } == ["220 sluic", "500 5.5.2", "500 5.5.2", "500 5.5.2", "500 5.5.2", "421 4.7.0"])
        }
    }

    /// One byte every 100 ms keeps the idle timeout (5 min) at bay, but not the command deadline (5 min):
    /// on a manual clock, each byte is followed by 10 s of time.
    @Test func clientTricklingACommandLineGets421WhenTheCommandTimeIsUp() async throws {
        let clock = DeadlineClock.manual()
        try await withRelay(configure: { $0.deadlineClock = clock }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            await client.waitForReplies(1)
            let line = String(repeating: "x", count: 40) // 400 s at this pace, and never a whole line
            for byte in ("EHLO " + line).utf8 where !client.isClosed {
                try? await client.send(bytes: [byte])
                clock.advance(by: .seconds(10))
            }
            #expect(await client.waitForClose(seconds: 10))
            #expect(client.replies.last?.hasPrefix("421 4.4.2") == true && client.replies.last?.contains("command") == true,
                    "got \(client.replies)")
            #expect(!upstream.commands.contains { $0.hasPrefix("EHLO") }, "the trickled command never reached the upstream")
            #expect(sluice.log.messages.contains { $0.contains("client too slow: no complete command") })
        }
    }

    /// 100 octets every 100 ms is 1,000 octets/s: below a 4 KiB/s minimum the message is cut off (after
    /// about 6.6 s: 5 s plus a second per 4 KiB received); the same client at full speed is not. The
    /// 100 ms are on a manual clock.
    @Test func messageDataBelowTheMinimumRateGets421() async throws {
        let clock = DeadlineClock.manual()
        try await withRelay(configure: { $0.limits.commandTime = 5; $0.limits.minimumDataRate = 4096; $0.deadlineClock = clock }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            let line = String(repeating: "y", count: 98) + "\r\n"
            for _ in 0..<150 where !client.isClosed {
                try? await client.send(line)
                clock.advance(by: .milliseconds(100))
            }
            #expect(await client.waitForClose(seconds: 10))
            #expect(client.replies.last?.hasPrefix("421 4.4.2") == true && client.replies.last?.contains("too slowly") == true,
                    "got \(client.replies)")
            #expect(upstream.messages.isEmpty)

            let fast = try await RawClient.connect(port: sluice.port)
            try await fast.startTransaction()
            try await fast.send("Subject: fast\r\n\r\n" + String(repeating: line, count: 2000) + ".\r\n")
            #expect(await fast.waitForReplies(6).last?.hasPrefix("250") == true)
            await fast.close()
        }
    }

    @Test func idleClientGets421AndIsClosed() async throws {
        let clock = DeadlineClock.manual()
        try await withRelay(configure: { $0.deadlineClock = clock }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            await client.waitForReplies(1)
            clock.advance(by: .seconds(299))
            clock.advance(by: .seconds(2)) // the default idle timeout is 300 s
            #expect(await client.waitForClose(seconds: 10))
            #expect(client.replies.last?.hasPrefix("421 4.4.2") == true, "got \(client.replies)")
        }
    }
}
