import Foundation
import NIOConcurrencyHelpers
import SluiceTestSupport
import Testing

/// A 50 MiB base64 attachment through the real binary with content rules on: it is decoded from the
/// spool chunk by chunk, so the process's resident memory grows by far less than the message.
@Suite(.serialized) struct LargeAttachmentTests {
    @Test func a50MiBBase64AttachmentKeepsMemoryBounded() async throws {
        // Under a sanitizer resident memory means nothing (no bound is checked) and the sanitized debug
        // binary decodes ten times slower: the same path with 8 MiB.
        let mebibytes = ProcessInfo.processInfo.environment["SLUICE_SANITIZER"] == nil ? 50 : 8
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("large.conf").path
        try """
            acknowledge open-relay
            spool-dir "\(directory.path)"
            limit message-size 100M
            stage body
              reject body ~ /casino/i "550 5.7.1 Content not accepted"
              reject attachment.magic = "executable" "554 5.7.1 Executables not accepted"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let upstream = try await ScriptedUpstream.start({ var s = UpstreamScript(); s.ehloLines.removeAll { $0.hasPrefix("SIZE") }; return s }())
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0",
                                              "--upstream", "127.0.0.1:\(upstream.port)", "--shutdown-grace", "0"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let warm = try await SMTPLibSender.send(port: port)
        #expect(warm.hasPrefix("OK"), "\(warm)")
        let baseline = sluice.residentKiB
        let peak = NIOLockedValueBox(baseline)
        let sampler = Task {
            while !Task.isCancelled {
                let now = sluice.residentKiB
                peak.withLockedValue { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let result = try await MIMESender.send(port: port, build: """
            import os
            msg = EmailMessage()
            msg["Subject"] = "backup"
            msg.set_content("the backup is attached")
            msg.add_attachment(os.urandom(\(mebibytes) * 1024 * 1024), maintype="application", subtype="octet-stream", filename="backup.bin")
            data = msg
            """)
        sampler.cancel()
        let growth = peak.withLockedValue { $0 } - baseline
        print("large attachment: \(result); resident memory +\(growth) KiB")
        #expect(result.hasPrefix("OK"), "\(result) \(sluice.stderr.suffix(2000))")
        #expect(upstream.messages.count == 2)
        #expect((upstream.messages.last?.wireBytes.count ?? 0) > mebibytes * 4 / 3 * 1024 * 1024)
        #expect(growth < InputAbuseTests.bound(48 * 1024), "resident memory grew by \(growth) KiB for a \(mebibytes * 4 / 3) MiB message")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }
}
