import Foundation
import SluiceServer
import SluiceTLS
import SluiceTestSupport
import Testing

/// A client can vanish at any byte. Each cell: 50 concurrent real sockets leave at one point of the
/// dialogue, with a FIN or a TCP reset. Afterwards the server is alive, every handler, spool and
/// upstream connection is freed, no descriptor is left, the spool directory is empty, the upstream
/// never got the final dot of an incomplete message, and a normal message still relays.
@Suite(.serialized) struct ClientFaultTests {
    enum Point: String, CaseIterable, Sendable {
        case beforeGreeting, midCommandLine, afterPipelinedMailRcpt, midDataMemorySpool, midDataDiskSpool
        case duringContentInspection, duringGreylistLookup, awaitingFinalReply, duringTLSHandshake, midTLSRecord
        case afterQuitBeforeReply
    }

    static let clients = 50
    static let bigLine = String(repeating: "x", count: 1022) + "\r\n"

    /// 200 rules over every stage, content rules among them (content inspection runs on the pool).
    static let twoHundredRules: String = {
        var text = "stage mail\n"
        for i in 0..<50 { text += "  reject sender ~ /^spam\(i)@/i \"550 5.7.1 no\"\n" }
        text += "stage rcpt\n"
        for i in 0..<50 { text += "  reject rcpt ~ /^blocked\(i)@/i \"550 5.7.1 no\"\n" }
        text += "stage header\n"
        for i in 0..<50 { text += "  reject header \"Subject\" ~ /forbidden\(i)/i \"550 5.7.1 no\"\n" }
        text += "stage body\n"
        for i in 0..<50 { text += "  reject body ~ /never-in-body-\(i)\\b/ \"550 5.7.1 no\"\n" }
        return text
    }()

    @Test(arguments: Point.allCases, CloseMode.allCases)
    func clientLeavingAtThisPointLeavesNothingBehind(_ point: Point, mode: CloseMode) async throws {
        var script = UpstreamScript()
        script.ehloLines.removeAll { $0.hasPrefix("SIZE") } // Sluice's own 25 MiB limit applies
        if point == .beforeGreeting { script.greetingDelay = 0.5 }
        if point == .awaitingFinalReply { script.stallOn = "." }
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let serverTLS = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        let clientTLS = try TLSContext(clientVerifying: false, serverName: nil)
        let tlsCell = point == .duringTLSHandshake || point == .midTLSRecord

        try await withRelay(script, configure: { configuration in
            configuration.upstreamTimeouts.command = 1
            configuration.upstreamTimeouts.endOfData = 2
            switch point {
            case .midDataDiskSpool: configuration.limits.memorySpoolThreshold = 64 * 1024
            case .duringContentInspection: try? configuration.apply(rules: Self.twoHundredRules)
            case .duringGreylistLookup:
                try? configuration.apply(rules: "stage rcpt\n  greylist\n")
                configuration.greylistStore = SlowGreylistStore(delay: 0.5)
                configuration.greylist.storeTimeout = 5
            default: break
            }
            if tlsCell {
                configuration.tls = serverTLS
                configuration.implicitTLS = Set(configuration.listen)
            }
        }) { upstream, sluice in
            let census = { DescriptorCensus.take(sluicePort: sluice.port, upstreamPort: upstream.port, spoolDirectory: sluice.spoolDirectory) }
            let message = Self.message(for: point)

            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<Self.clients {
                    group.addTask {
                        guard let client = try? await RawClient.connect(port: sluice.port, tls: point == .midTLSRecord ? clientTLS : nil)
                        else { return }
                        try? await Self.drive(client, to: point, message: message, upstream: upstream)
                        await client.end(mode)
                    }
                }
            }

            // Everything a session held is freed: handlers, spools, upstream connections, descriptors.
            let settled = await Self.waitUntil(seconds: 20) {
                sluice.server.openSessions == 0 && sluice.server.sessionHandlersAlive == 0 && sluice.server.spoolsAlive == 0
                    && sluice.server.upstreamConnectionsAlive == 0 && census().total == 0
            }
            #expect(settled, "\(point)/\(mode): left open sessions \(sluice.server.openSessions), handlers \(sluice.server.sessionHandlersAlive), spools \(sluice.server.spoolsAlive), upstream connections \(sluice.server.upstreamConnectionsAlive); \(census())")
            #expect(sluice.spoolFiles.isEmpty, "\(point)/\(mode): spool directory not empty: \(sluice.spoolFiles)")
            // Only complete messages ever reach the upstream (their final dot was the client's).
            let complete = message.map { Self.withoutTrace($0) }
            for received in upstream.messages {
                #expect(point == .awaitingFinalReply || point == .duringContentInspection,
                        "\(point)/\(mode): the upstream received a message the client never finished")
                #expect(Self.withoutTrace(received.wireData) == complete, "\(point)/\(mode): a partial message reached the upstream")
            }

            // And the server still relays a normal message.
            let before = upstream.messages.count
            var tlsForCheck: TLSContext? = nil
            if tlsCell { tlsForCheck = clientTLS }
            if point == .awaitingFinalReply { return } // this upstream never answers a final dot, by design
            let client = try await RawClient.connect(port: sluice.port, tls: tlsForCheck)
            try await client.startTransaction()
            try await client.send("Subject: still alive\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            let replies = await client.waitForReplies(7, seconds: 20)
            #expect(replies.count >= 6 && replies[5].hasPrefix("250"), "\(point)/\(mode): a normal message after the faults got \(replies)")
            #expect(upstream.messages.count == before + 1)
            await client.close()
        }
    }

    /// The message content each cell sends (nil: the cell never finishes one).
    static func message(for point: Point) -> String? {
        switch point {
        case .awaitingFinalReply: return "Subject: waits\r\n\r\nbody\r\n"
        case .duringContentInspection: return "Subject: big\r\n\r\n" + String(repeating: bigLine, count: 20 * 1024)
        default: return nil
        }
    }

    /// Takes one client to `point` (it leaves right after).
    static func drive(_ client: RawClient, to point: Point, message: String?, upstream: ScriptedUpstream) async throws {
        switch point {
        case .beforeGreeting:
            return
        case .midCommandLine:
            await client.waitForReplies(1)
            try await client.send("EHLO client.exa")
        case .afterPipelinedMailRcpt:
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\n")
        case .midDataMemorySpool:
            try await client.startTransaction()
            try await client.send("Subject: half\r\n\r\n" + String(repeating: bigLine, count: 10))
        case .midDataDiskSpool:
            try await client.startTransaction()
            // 2 MiB against a 64 KiB threshold: the spool writes are in flight when the client leaves.
            try await client.send("Subject: half\r\n\r\n" + String(repeating: bigLine, count: 2 * 1024))
        case .duringContentInspection, .awaitingFinalReply:
            try await client.startTransaction()
            try await client.send((message ?? "") + ".\r\n")
            if point == .awaitingFinalReply {
                _ = await waitUntil(seconds: 10) { upstream.messages.count >= clients }
            }
        case .duringGreylistLookup:
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\n")
            await client.waitForReplies(3)
            try await Task.sleep(for: .milliseconds(100)) // the store answers after 500 ms
        case .duringTLSHandshake:
            // The start of a ClientHello record, then nothing more.
            try await client.sendRaw(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03] + Array(repeating: 0x42, count: 20))
        case .midTLSRecord:
            await client.waitForReplies(1) // the greeting came over TLS: the handshake is done
            // Half an application-data record, below TLS.
            try await client.sendRaw(bytes: [0x17, 0x03, 0x03, 0x00, 0x40] + Array(repeating: 0x42, count: 10))
        case .afterQuitBeforeReply:
            await client.waitForReplies(1)
            try await client.send("EHLO c\r\nQUIT\r\n")
        }
    }

    static func withoutTrace(_ text: String) -> String {
        guard let subject = text.range(of: "Subject: ") else { return text }
        return String(text[subject.lowerBound...])
    }

    static func waitUntil(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * Patience.factor * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}

/// The crash this suite was written for: 40 clients send 256 KiB to 5 MiB of DATA (past the 1 MiB
/// memory threshold, so it spills to disk) and reset the connection. A spool write completing on the
/// thread pool after its session was freed called into the freed handler and aborted the process.
@Suite struct SpoolAfterResetTests {
    @Test func resetsDuringDiskSpooledDataLeaveTheServerRunning() async throws {
        try await withRelay { upstream, sluice in
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        guard let client = try? await RawClient.connect(port: sluice.port) else { return }
                        try? await client.startTransaction()
                        let lines = (256 + (index * 4864) / 39) // 256 KiB … 5 MiB in 1 KiB lines
                        try? await client.send("Subject: big\r\n\r\n" + String(repeating: ClientFaultTests.bigLine, count: lines))
                        await client.reset()
                    }
                }
            }
            let settled = await ClientFaultTests.waitUntil(seconds: 20) { sluice.server.spoolsAlive == 0 && sluice.server.sessionHandlersAlive == 0 }
            #expect(settled, "spools \(sluice.server.spoolsAlive), handlers \(sluice.server.sessionHandlersAlive)")
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send("Subject: after\r\n\r\nbody\r\n.\r\n")
            #expect(await client.waitForReplies(6).last?.hasPrefix("250") == true)
            #expect(upstream.messages.count == 1)
            await client.close()
        }
    }
}
