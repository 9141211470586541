import Foundation
import SluiceTestSupport
import Testing

/// `bcc` (journal copies) and `redirect` (quarantine), decided at the end of the message and given to
/// the upstream before DATA, in the same transaction: the recording upstream shows the RCPTs.
@Suite struct RecipientRoutingTests {
    private func send(_ port: Int, to: [String] = ["bob@example.com"], _ message: String = "Subject: hello\r\n\r\nbody\r\n") async throws -> String {
        try await SMTPLibSender.send(port: port, to: to, message: message)
    }

    @Test func bccAddsAJournalRecipientInTheSameTransaction() async throws {
        try await withRules("""
            stage eom
              bcc "archive@example.com"
            """) { upstream, sluice in
            let result = try await send(sluice.port, to: ["bob@example.com", "carol@example.com"])
            #expect(result.hasPrefix("OK"), "\(result)")
            #expect(upstream.messages.map(\.recipients) == [["bob@example.com", "carol@example.com", "archive@example.com"]])
            let rcpts = upstream.commands.filter { $0.hasPrefix("RCPT") }
            #expect(rcpts == ["RCPT TO:<bob@example.com>", "RCPT TO:<carol@example.com>", "RCPT TO:<archive@example.com>"])
            #expect(upstream.commands.firstIndex(of: "RCPT TO:<archive@example.com>")! < upstream.commands.firstIndex(of: "DATA")!)
            #expect(sluice.log.messages.contains { $0.contains("bcc <archive@example.com>") && $0.contains("test.conf:3") }, "\(sluice.log.messages)")
        }
    }

    @Test func aRecipientAlreadyThereIsNotAddedTwice() async throws {
        try await withRules("""
            stage eom
              bcc "bob@example.com"
            """) { upstream, sluice in
            let result = try await send(sluice.port)
            #expect(result.hasPrefix("OK"), "\(result)")
            #expect(upstream.messages.map(\.recipients) == [["bob@example.com"]])
        }
    }

    @Test func redirectReplacesTheRecipients() async throws {
        try await withRules("""
            stage body
              redirect "quarantine@example.com" body ~ /suspicious/
            """) { upstream, sluice in
            let normal = try await send(sluice.port)
            #expect(normal.hasPrefix("OK"), "\(normal)")
            let held = try await send(sluice.port, to: ["bob@example.com", "carol@example.com"], "Subject: x\r\n\r\nsuspicious content\r\n")
            #expect(held.hasPrefix("OK"), "\(held)")
            #expect(upstream.messages.map(\.recipients) == [["bob@example.com"], ["quarantine@example.com"]])
            let second = upstream.commands.split(separator: "DATA", omittingEmptySubsequences: false)[1]
            #expect(second.contains("RSET"))
            #expect(second.filter { $0.hasPrefix("MAIL") }.count == 2, "the first MAIL, then the same one after RSET: \(second)")
            #expect(sluice.log.messages.contains { $0.contains("redirect to <quarantine@example.com>") })
            #expect(sluice.log.messages.contains { $0.contains("quarantine@example.com") && $0.contains("status=delivered") })
        }
    }

    @Test func aRefusedJournalRecipientDefersTheMessage() async throws {
        var script = UpstreamScript()
        script.rejectRecipients = ["archive@example.com": "550 5.1.1 No such user"]
        try await withRules("""
            stage eom
              bcc "archive@example.com"
            """, script) { upstream, sluice in
            let result = try await send(sluice.port)
            #expect(result.hasPrefix("DATA 451 4.3.0"), "\(result)")
            #expect(upstream.messages.isEmpty)
            #expect(!upstream.commands.contains("DATA"))
            // The session goes on: the next message (no rule fires for it now) is fine.
            #expect(sluice.log.messages.contains { $0.contains("status=failed") })
        }
    }
}
