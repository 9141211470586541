import Foundation
import NIOConcurrencyHelpers
import SluiceTestSupport
import Testing

/// Hostile input against the real binary (default limits): each case with the reply it gets and the
/// memory it costs (the process's resident memory, sampled while the case runs, against its level
/// before). The figures are printed (`abuse: …`) and README.md records them.
@Suite(.serialized) struct InputAbuseTests {
    /// Runs `body` against a fresh `sluice run` and returns the peak growth of its resident memory in KiB.
    private func measured(_ name: String, _ body: (Int, ScriptedUpstream) async throws -> String) async throws -> Int {
        let upstream = try await ScriptedUpstream.start({ var s = UpstreamScript(); s.ehloLines.removeAll { $0.hasPrefix("SIZE") }; return s }())
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        // Warm up: one ordinary session, so first-use allocations are not counted against the case.
        let warm = try await RawClient.connect(port: port)
        try await warm.startTransaction()
        try await warm.send("Subject: warm\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        _ = await warm.waitForClose()
        let baseline = sluice.residentKiB
        let peak = NIOLockedValueBox(baseline)
        let sampler = Task {
            while !Task.isCancelled {
                let now = sluice.residentKiB
                peak.withLockedValue { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let reply = try await body(port, upstream)
        sampler.cancel()
        let growth = peak.withLockedValue { $0 } - baseline
        print("abuse: \(name): \(reply); resident memory +\(growth) KiB")
        #expect(sluice.process.isRunning, "\(name): the process died")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
        return growth
    }

    /// A memory bound in KiB; none under a sanitizer (`make asan`/`make tsan` set SLUICE_SANITIZER),
    /// whose shadow memory and quarantine make resident memory meaningless.
    static func bound(_ kib: Int) -> Int {
        ProcessInfo.processInfo.environment["SLUICE_SANITIZER"] == nil ? kib : Int.max
    }

    /// `500 5.5.2` for a reply with an enhanced code, else the code alone (`220`).
    static func code(_ reply: String) -> String {
        let bytes = Array(reply.utf8)
        if bytes.count >= 9, bytes[5] == UInt8(ascii: "."), bytes[7] == UInt8(ascii: ".") { return String(reply.prefix(9)) }
        return String(reply.prefix(3))
    }

    static let line1K = String(repeating: "h", count: 1000)

    @Test func aWholeSessionInOneWriteGetsEveryReplyInOrder() async throws {
        let growth = try await measured("whole session in one write") { port, upstream in
            let client = try await RawClient.connect(port: port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nSubject: one\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            #expect(await client.waitForClose())
            let codes = client.replies.map { String($0.prefix(3)) }
            #expect(codes == ["220", "250", "250", "250", "354", "250", "221"], "got \(client.replies)")
            #expect(upstream.messages.count == 2, "the warm-up message and this one")
            return codes.joined(separator: " ")
        }
        #expect(growth < Self.bound(16 * 1024))
    }

    @Test func commandsAfterDataInTheSamePacketAreContentNotCommands() async throws {
        _ = try await measured("commands after DATA in the same packet") { port, upstream in
            let client = try await RawClient.connect(port: port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nRSET\r\nMAIL FROM:<evil@x.example>\r\n.\r\nQUIT\r\n")
            #expect(await client.waitForClose())
            #expect(client.replies.map { String($0.prefix(3)) } == ["220", "250", "250", "250", "354", "250", "221"])
            #expect(upstream.messages.last?.wireData.hasSuffix("RSET\r\nMAIL FROM:<evil@x.example>\r\n") == true)
            #expect(!upstream.commands.contains { $0.contains("evil") })
            return "354, then the lines are the message: 250"
        }
    }

    @Test func overLongLinesAtEveryStage() async throws {
        let growth = try await measured("over-long lines at every stage (2 KiB commands, 1 MiB without CRLF, 10 KiB DATA and header lines)") { port, upstream in
            let client = try await RawClient.connect(port: port)
            let long = String(repeating: "x", count: 2048)
            try await client.send("EHLO \(long)\r\nEHLO c\r\nMAIL FROM:<\(long)@b.example>\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<\(long)@y.example>\r\n")
            try await client.send(String(repeating: "y", count: 1024 * 1024)) // no CRLF: dropped as it comes
            try await client.send("\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            var replies = await client.waitForReplies(9)
            #expect(replies.map(Self.code) == ["220", "500 5.5.2", "250", "500 5.5.2", "250 2.1.0", "500 5.5.2", "500 5.5.2", "250 2.1.5", "354"],
                    "got \(replies)")
            try await client.send("Subject: long\r\n\r\n" + String(repeating: "z", count: 10 * 1024) + "\r\n.\r\n")
            replies = await client.waitForReplies(10)
            #expect(replies.last?.hasPrefix("554 5.6.0") == true)
            try await client.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nX-Long: " + String(repeating: "z", count: 10 * 1024) + "\r\n\r\nbody\r\n.\r\n")
            replies = await client.waitForReplies(14)
            #expect(replies.last?.hasPrefix("554 5.6.0") == true)
            #expect(upstream.messages.count == 1, "only the warm-up message")
            await client.close()
            return "500 5.5.2 for each command, 554 5.6.0 at the dot for DATA and header lines"
        }
        #expect(growth < Self.bound(16 * 1024))
    }

    @Test func tenThousandRecipients() async throws {
        let growth = try await measured("10,000 recipients") { port, upstream in
            let client = try await RawClient.connect(port: port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n")
            await client.waitForReplies(3)
            for batch in 0..<10 {
                try await client.send((0..<1000).map { "RCPT TO:<r\(batch * 1000 + $0)@y.example>\r\n" }.joined())
            }
            #expect(await client.waitForClose(seconds: 60))
            let rcpt = client.replies.dropFirst(3)
            #expect(rcpt.prefix(1000).allSatisfy { $0.hasPrefix("250") })
            // Each refused RCPT counts as an error: past `limit errors` (10) the session is closed with 421.
            #expect(rcpt.dropFirst(1000).prefix(11).allSatisfy { $0.hasPrefix("452 4.5.3") }, "got \(rcpt.dropFirst(1000).prefix(3))")
            #expect(rcpt.last?.hasPrefix("421 4.7.0") == true && rcpt.count == 1012, "got \(rcpt.count) replies, last \(rcpt.last ?? "")")
            #expect(upstream.commands.filter { $0.hasPrefix("RCPT") }.count == 1001, "the warm-up's and 1,000: the rest never went upstream")
            return "1,000 x 250, 11 x 452 4.5.3, then 421 4.7.0 and close"
        }
        #expect(growth < Self.bound(32 * 1024))
    }

    @Test func aTenMiBHeaderBlockIsSpooledNotHeld() async throws {
        let growth = try await measured("10 MiB header block") { port, upstream in
            let client = try await RawClient.connect(port: port)
            try await client.startTransaction()
            var header = ""
            for index in 0..<10 * 1024 { header += "X-Filler-\(index): \(Self.line1K)\r\n" }
            try await client.send(header + "Subject: big header\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            let replies = await client.waitForReplies(7, seconds: 60)
            #expect(replies.count >= 6 && replies[5].hasPrefix("250"), "got \(replies.suffix(2))")
            #expect(upstream.messages.last.map { $0.wireBytes.count > 10_000_000 } == true)
            await client.close()
            return replies.count >= 6 ? String(replies[5].prefix(3)) : "\(replies)"
        }
        #expect(growth < Self.bound(32 * 1024), "a 10 MiB header block is spooled to disk past 1 MiB")
    }

    @Test func nulAndInvalidUTF8InCommandsAndHeaders() async throws {
        _ = try await measured("NUL and invalid UTF-8 in commands and headers") { port, upstream in
            let client = try await RawClient.connect(port: port)
            try await client.send(bytes: Array("EHLO c\u{0}\r\nEHLO ".utf8) + [0xFF, 0xFE] + Array("\r\nEHLO c\r\n".utf8))
            var replies = await client.waitForReplies(4)
            #expect(replies.map(Self.code) == ["220", "500 5.5.2", "501 5.5.4", "250"], "got \(replies)")
            try await client.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            await client.waitForReplies(7)
            try await client.send(bytes: Array("Subject: caf".utf8) + [0xC3, 0x28, 0xFF] + Array("\r\n\r\nbody\r\n.\r\n".utf8))
            replies = await client.waitForReplies(8)
            #expect(replies.last?.hasPrefix("250") == true, "invalid UTF-8 in a header is relayed as it is")
            #expect(upstream.messages.last?.wireBytes.contains(0xFF) == true)
            try await client.send(bytes: Array("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nSubject: n\u{0}ul\r\n\r\nbody\r\n.\r\n".utf8))
            replies = await client.waitForReplies(12)
            #expect(replies.last?.hasPrefix("554 5.6.0") == true, "a NUL in a header is refused")
            #expect(upstream.messages.count == 2, "the warm-up message and the 8-bit one")
            await client.close()
            return "500 5.5.2 (NUL), 501 5.5.4 (invalid UTF-8) in commands; header: 8-bit relayed, NUL 554 5.6.0"
        }
    }
}
