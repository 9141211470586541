import Foundation
import SluiceTestSupport
import Testing

/// The spool's disk fills up or its directory disappears: the client gets a 4xx at its final dot (never
/// in the middle of DATA), nothing goes upstream, nothing is left behind, and small messages (in
/// memory) still relay.
@Suite struct SpoolFailureTests {
    static let bigLine = String(repeating: "z", count: 1022) + "\r\n"

    /// Sends one message of `lines` KiB; returns the reply to its final dot and what came after.
    private func send(_ port: Int, kib lines: Int) async throws -> [String] {
        let client = try await RawClient.connect(port: port)
        try await client.startTransaction()
        try await client.send("Subject: big\r\n\r\n" + String(repeating: Self.bigLine, count: lines) + ".\r\nNOOP\r\n")
        let replies = await client.waitForReplies(7, seconds: 20)
        await client.close()
        return Array(replies.dropFirst(5))
    }

    @Test func aFullSpoolDiskGives452AndLosesNothing() async throws {
        guard let disk = try await TmpfsMount.make(size: "1m") else {
            Issue.record("cannot mount a tmpfs here (needs root): the disk-full test did not run")
            return
        }
        defer { Task { await disk.remove() } }
        try await withRelay(configure: {
            $0.spoolDirectory = disk.path
            $0.limits.memorySpoolThreshold = 64 * 1024
        }) { upstream, sluice in
            let replies = try await send(sluice.port, kib: 2048) // 2 MiB onto a 1 MiB file system
            #expect(replies.first?.hasPrefix("452 4.3.1") == true, "got \(replies)")
            #expect(replies.last?.hasPrefix("250") == true, "the NOOP after the message is a command again: \(replies)")
            #expect(upstream.messages.isEmpty && !upstream.commands.contains("DATA"), "nothing reached the upstream")
            #expect(sluice.log.messages.contains { $0.contains("cannot spool message") && $0.contains("No space left") })
            #expect(await ClientFaultTests.waitUntil(seconds: 10) { sluice.server.spoolsAlive == 0 })
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: disk.path)) ?? ["?"]).isEmpty, "the spool file is gone")
            // A message that fits in memory still relays, and so does one that fits on the disk.
            #expect(try await send(sluice.port, kib: 32).first?.hasPrefix("250") == true)
            #expect(try await send(sluice.port, kib: 512).first?.hasPrefix("250") == true)
            #expect(upstream.messages.count == 2)
        }
    }

    @Test func aSpoolDirectoryRemovedAtRunTimeGives451AndALogLine() async throws {
        try await withRelay(configure: { $0.limits.memorySpoolThreshold = 64 * 1024 }) { upstream, sluice in
            try FileManager.default.removeItem(atPath: sluice.spoolDirectory)
            let replies = try await send(sluice.port, kib: 256)
            #expect(replies.first?.hasPrefix("451 4.3.0") == true, "got \(replies)")
            #expect(replies.last?.hasPrefix("250") == true)
            #expect(upstream.messages.isEmpty)
            #expect(sluice.log.messages.contains { $0.contains("cannot spool message to \(sluice.spoolDirectory)") && $0.contains("No such file") })
            #expect(try await send(sluice.port, kib: 32).first?.hasPrefix("250") == true, "messages in memory still relay")
        }
    }
}
