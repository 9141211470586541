import Foundation
import SluiceTestSupport
import Testing

/// Byte-level behaviour a polite client never shows: pipelining, smuggling, bad lines.
@Suite struct ProtocolStrictnessTests {
    @Test func sequenceErrorsAreAnsweredBySluiceAndNeverReachTheUpstream() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            await client.waitForReplies(1)
            try await client.send("MAIL FROM:<a@b.example>\r\n")
            try await client.send("EHLO c\r\nRCPT TO:<x@y.example>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nDATA\r\nFOO bar\r\nMAIL FROM:a@b\r\n")
            let replies = await client.waitForReplies(9)
            #expect(replies.map { String($0.prefix(3)) } == ["220", "503", "250", "503", "503", "250", "503", "500", "501"])
            #expect(replies.filter { $0.hasPrefix("503") }.allSatisfy { $0.hasPrefix("503 5.5.1") })
            #expect(replies.last?.hasPrefix("501 5.5.4") == true)
            #expect(upstream.commands == ["EHLO c", "MAIL FROM:<a@b.example>"])
            await client.close()
        }
    }

    @Test func pipelinedGroupGetsItsRepliesInOrder() async throws {
        var script = UpstreamScript()
        script.rejectRecipients["bad@y.example"] = "550 5.1.1 no"
        try await withRelay(script) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nRCPT TO:<bad@y.example>\r\nRCPT TO:<z@y.example>\r\nDATA\r\n")
            let replies = await client.waitForReplies(7)
            #expect(replies.map { String($0.prefix(3)) } == ["220", "250", "250", "250", "550", "250", "354"])
            try await client.send("Subject: p\r\n\r\nhi\r\n.\r\nQUIT\r\n")
            let all = await client.waitForReplies(9)
            #expect(all.suffix(2).map { String($0.prefix(3)) } == ["250", "221"])
            #expect(upstream.messages.first?.recipients == ["x@y.example", "z@y.example"])
            await client.close()
        }
    }

    @Test func smugglingAttemptIsNotEndOfDataAndTheMessageIsRefused() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(5)
            try await client.send("Subject: s\r\n\r\nhi\n.\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@y.example>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("554 5.6.0") == true, "got \(replies)")
            try await client.send("NOOP\r\n")
            await client.waitForReplies(7)
            #expect(upstream.messages.isEmpty, "nothing reached the upstream")
            #expect(!upstream.commands.contains { $0.contains("evil") }, "the smuggled command never ran")
            await client.close()
        }
    }

    @Test func normalizeModeTurnsBareLFIntoCRLFAndStuffsTheExposedDot() async throws {
        try await withRelay(configure: { $0.bareLineEndings = .normalize }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(5)
            try await client.send("Subject: n\r\n\r\none\ntwo\n.\nthree\r\n.\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("250") == true)
            let data = try #require(upstream.messages.first?.wireData)
            #expect(data.hasSuffix("\r\n\r\none\r\ntwo\r\n..\r\nthree\r\n"))
            await client.close()
        }
    }

    @Test func dotStuffedLinesReachTheUpstreamExactlyAsSent() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(5)
            let content = "Subject: d\r\n\r\n..one dot\r\n...two dots\r\n..\r\nend\r\n"
            try await client.send(content + ".\r\n")
            await client.waitForReplies(6)
            let data = try #require(upstream.messages.first?.wireData)
            #expect(data.hasSuffix(content))
            await client.close()
        }
    }

    @Test func overLongCommandLineIs500AndTheSessionContinues() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nNOOP " + String(repeating: "x", count: 600) + "\r\nNOOP\r\n")
            let replies = await client.waitForReplies(4)
            #expect(replies.map { String($0.prefix(3)) } == ["220", "250", "500", "250"])
            #expect(replies[2].hasPrefix("500 5.5.2"))
            #expect(upstream.commands == ["EHLO c", "NOOP"])
            await client.close()
        }
    }

    @Test func bareLFOrNulInACommandLineIsRejected() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\nNOOP\r\n")
            try await client.send(bytes: Array("NOOP a\u{0}b\r\nNOOP x\ry\r\n".utf8))
            let replies = await client.waitForReplies(5)
            #expect(replies.map { String($0.prefix(9)) } == ["220 sluic", "500 5.5.2", "250 2.0.0", "500 5.5.2", "500 5.5.2"])
            #expect(upstream.commands == ["NOOP"])
            await client.close()
        }
    }

    @Test func overLongDataLineIsRefusedAtTheFinalDot() async throws {
        try await withRelay(configure: { $0.limits.dataLineLength = 1000 }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(5)
            try await client.send("Subject: l\r\n\r\n" + String(repeating: "y", count: 5000) + "\r\n.\r\n")
            let replies = await client.waitForReplies(6)
            #expect(replies.last?.hasPrefix("554 5.6.0") == true)
            #expect(upstream.messages.isEmpty)
            await client.close()
        }
    }

    @Test func relayedCommandsKeepTheirRepliesVerbatim() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("HELO c\r\nHELP\r\nVRFY bob\r\nNOOP\r\nRSET\r\nQUIT\r\n")
            await client.waitForReplies(7)
            #expect(client.replyLines.contains("214-2.0.0   HELO EHLO MAIL RCPT DATA"))
            #expect(client.replies.map { String($0.prefix(3)) } == ["220", "250", "214", "252", "250", "250", "221"])
            #expect(upstream.commands == ["HELO c", "HELP", "VRFY bob", "NOOP", "RSET", "QUIT"])
            #expect(await client.waitForClose())
        }
    }

    @Test func ipv6ListenerRelays() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try await TestServer.start(upstreamPort: upstream.port, listenHost: "::1")
        let client = try await RawClient.connect(port: sluice.port, host: "::1")
        try await client.send("EHLO c\r\nQUIT\r\n")
        let replies = await client.waitForReplies(3)
        #expect(replies.map { String($0.prefix(3)) } == ["220", "250", "221"])
        await client.close()
        await sluice.stop()
        await upstream.stop()
    }
}
