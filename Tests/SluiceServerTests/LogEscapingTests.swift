import Foundation
@testable import SluiceServer
import SluiceTestSupport
import Testing

/// What a client sends never shapes the log: control octets are written as `\xNN`.
@Suite struct LogEscapingTests {
    @Test func controlOctetsAreEscaped() {
        #expect(LogWriter.escaped("helo=mail.example.com") == "helo=mail.example.com")
        #expect(LogWriter.escaped("helo=evil\u{1b}[31mred\tx") == "helo=evil\\x1b[31mred\\x09x")
        #expect(LogWriter.escaped("a\r\nfake: line") == "a\\x0d\\x0afake: line")
        #expect(LogWriter.escaped("ümlaut\u{7f}") == "ümlaut\\x7f", "UTF-8 stays, DEL is escaped")
    }

    /// The real binary, its real log writer: a HELO with an escape sequence and a tab reaches stderr escaped.
    @Test func aHeloWithControlOctetsIsLoggedEscaped() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let client = try await RawClient.connect(port: port)
        try await client.send("EHLO evil\u{1b}[2Jx\tfake\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
        _ = await client.waitForReplies(5)
        try await client.send("Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        _ = await client.waitForClose()
        let deadline = Patience.deadline(after: 10)
        while !sluice.stderr.contains("status=delivered"), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(sluice.stderr.contains("helo=evil\\x1b[2Jx\\x09fake"), "\(sluice.stderr)")
        #expect(!sluice.stderr.contains("\u{1b}"), "no raw escape octet reaches the log")
    }
}
