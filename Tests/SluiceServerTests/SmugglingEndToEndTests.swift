import Foundation
import SluiceSMTP
import SluiceTestSupport
import Testing

/// Every smuggling variant through a real Sluice to an upstream that *is* vulnerable (it ends DATA on
/// any of them, NULs ignored), split across TCP segments at every offset near the variant. Asserted
/// byte for byte: what the upstream received, in both modes, and that the smuggled transaction never
/// became one.
@Suite struct SmugglingEndToEndTests {
    @Test(arguments: SmugglingVariant.all, [BareLineEndingPolicy.reject, .normalize])
    func vulnerableUpstreamNeverSeesASmuggledMessage(_ variant: SmugglingVariant, policy: BareLineEndingPolicy) async throws {
        var script = UpstreamScript()
        script.naiveEndOfData = true
        try await withRelay(script, configure: {
            $0.bareLineEndings = policy
            $0.limits.errors = 1000
        }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\n")
            var expected = await client.waitForReplies(2).count
            let message = variant.message + Array(".\r\n".utf8)
            let start = SmugglingVariant.before.count - 1, end = SmugglingVariant.before.count + variant.bytes.count + 1
            let splits = Array(start...end)
            for split in splits {
                try await client.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
                expected += 3
                #expect(await client.waitForReplies(expected).last?.hasPrefix("354") == true)
                try await client.send(bytes: Array(message[..<split]))
                try await Task.sleep(for: .milliseconds(2)) // a segment of its own
                try await client.send(bytes: Array(message[split...]))
                expected += 1
                let reply = await client.waitForReplies(expected).last ?? ""
                if policy == .reject && variant.refused {
                    #expect(reply.hasPrefix("554 5.6.0"), "\(variant) split at \(split): \(reply)")
                } else {
                    #expect(reply.hasPrefix("250"), "\(variant) split at \(split): \(reply)")
                }
            }
            try await client.send("QUIT\r\n")
            _ = await client.waitForClose()
            #expect(!upstream.commands.contains { $0.contains("evil@attacker.example") }, "the smuggled transaction ran")
            if policy == .reject && variant.refused {
                #expect(upstream.messages.isEmpty, "a refused message reached the upstream")
                #expect(!upstream.commands.contains("DATA"))
            } else {
                #expect(upstream.messages.count == splits.count)
                for received in upstream.messages {
                    let content = Self.withoutTraceHeader(received.wireBytes)
                    #expect(Self.escaped(content) == Self.escaped(variant.relayed), "\(variant): the upstream received other octets")
                }
            }
        }
    }

    /// The message without Sluice's `Received:` field (its first line and the continuation lines).
    static func withoutTraceHeader(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.starts(with: Array("Received:".utf8)) else { return bytes }
        var index = 0
        while let lf = bytes[index...].firstIndex(of: 10) {
            index = lf + 1
            if index >= bytes.count || (bytes[index] != 9 && bytes[index] != 32) { break }
        }
        return Array(bytes[index...])
    }

    /// Octets as readable text: CR, LF, NUL and 8-bit octets escaped.
    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            switch byte {
            case 13: return "<CR>"
            case 10: return "<LF>"
            case 32..<127: return String(UnicodeScalar(byte))
            default: return "<0x\(String(byte, radix: 16))>"
            }
        }.joined()
    }

    @Test func nulInACommandLineIs500AndNeverForwarded() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send(bytes: Array("EHLO c\r\nMAIL FROM:<a@b.example>\u{0}\r\nNOOP\r\n".utf8))
            let replies = await client.waitForReplies(4)
            #expect(replies.count == 4 && replies[2].hasPrefix("500 5.5.2") && replies[2].contains("NUL"), "got \(replies)")
            #expect(upstream.commands == ["EHLO c", "NOOP"])
            await client.close()
        }
    }

    @Test func nulInDataIsRefusedSayingSo() async throws {
        try await withRelay { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send(bytes: Array("Subject: x\r\n\r\na\u{0}b\r\n.\r\n".utf8))
            let reply = await client.waitForReplies(6).last ?? ""
            #expect(reply.hasPrefix("554 5.6.0") && reply.contains("NUL"), "got \(reply)")
            #expect(upstream.messages.isEmpty)
            await client.close()
        }
    }
}
