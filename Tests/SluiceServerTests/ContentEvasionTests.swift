import Foundation
import SluiceTestSupport
import Testing

/// The ways a message used to walk around `header` and `body` rules (each relayed before the rules saw
/// decoded MIME), sent by Python's email package and smtplib through the real relay. Each must now be
/// refused, and the upstream must get nothing.
@Suite struct ContentEvasionTests {
    static let rules = """
        stage header
          reject header "Subject" ~ /viagra/i "550 5.7.1 Subject not accepted"
        stage body
          reject body ~ /casino/i "550 5.7.1 Content not accepted"
        """

    private func refused(_ build: String, _ expected: String = "550 5.7.1") async throws {
        try await withRules(Self.rules) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: build)
            #expect(result.hasPrefix("DATA \(expected)"), "\(result)")
            #expect(upstream.messages.isEmpty)
            let clean = try await MIMESender.send(port: sluice.port, build: """
                data = raw("Subject: hello\\n\\nnothing to see\\n")
                """)
            #expect(clean.hasPrefix("OK"), "\(clean)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func aSubjectAfter300KiBOfOtherFieldsIsSeen() async throws {
        try await refused("""
            filler = "".join("X-Filler-%d: %s\\n" % (i, "f" * 70) for i in range(4000))
            data = raw(filler + "Subject: cheap viagra\\n\\nbody\\n")
            """)
    }

    @Test func anEncodedWordSubjectIsDecoded() async throws {
        try await refused("""
            msg = EmailMessage()
            msg["Subject"] = "Günstig VIAGRA kaufen"
            msg.set_content("body")
            data = msg
            """)
        // And by hand: a Q-encoded word with the word split across two encoded-words.
        try await refused("""
            data = raw("Subject: =?iso-8859-1?Q?Vi?= =?utf-8?B?YWdyYQ==?=\\n\\nbody\\n")
            """)
    }

    @Test func aBase64TextPartIsDecoded() async throws {
        try await refused("""
            msg = EmailMessage()
            msg["Subject"] = "hi"
            msg.set_content("Welcome to the best casino in town\\n", cte="base64")
            data = msg
            """)
    }

    @Test func aQuotedPrintableTextPartIsDecoded() async throws {
        try await refused("""
            data = raw("Subject: hi\\nMIME-Version: 1.0\\nContent-Type: text/plain; charset=utf-8\\nContent-Transfer-Encoding: quoted-printable\\n\\nOur c=61sino is open\\n")
            """)
    }

    @Test func aWordSplitByASoftLineBreakIsJoined() async throws {
        try await refused("""
            data = raw("Subject: hi\\nMIME-Version: 1.0\\nContent-Type: text/plain\\nContent-Transfer-Encoding: quoted-printable\\n\\nplay at our cas=\\nino tonight\\n")
            """)
    }

    @Test func anHTMLPartWithAnEntityIsConvertedToText() async throws {
        try await refused("""
            msg = EmailMessage()
            msg["Subject"] = "hi"
            msg.set_content("plain text without it")
            msg.add_alternative("<html><body><p>Visit our cas&#105;<span>no</span> <!-- x -->today</p></body></html>", subtype="html")
            data = msg
            """)
    }

    @Test func textInABase64AttachmentIsInspected() async throws {
        try await refused("""
            msg = EmailMessage()
            msg["Subject"] = "report"
            msg.set_content("see attached")
            msg.add_attachment(b"Quarterly numbers from the casino floor\\n", maintype="application", subtype="octet-stream", filename="report.dat")
            data = msg
            """)
    }

    @Test func aCharsetIsConvertedBeforeMatching() async throws {
        try await withRules("""
            stage body
              reject body ~ /Казино/ "550 5.7.1 Content not accepted"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "hi"
                msg.set_content("Наше Казино открыто", charset="koi8-r", cte="base64")
                data = msg
                """)
            #expect(result.hasPrefix("DATA 550 5.7.1"), "\(result)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func rawFieldsStillSeeTheOctets() async throws {
        try await withRules("""
            stage header
              reject header.raw "Subject" ~ /^=\\?utf-8\\?b\\?/i "550 5.7.1 Encoded subjects not accepted here"
            stage body
              reject body.raw ~ /Y2FzaW5v/ "550 5.7.1 Raw body match"
            """) { upstream, sluice in
            let encoded = try await MIMESender.send(port: sluice.port, build: """
                data = raw("Subject: =?UTF-8?B?aGVsbG8=?=\\n\\nbody\\n")
                """)
            #expect(encoded.hasPrefix("DATA 550 5.7.1 Encoded subjects"), "\(encoded)")
            let rawBody = try await MIMESender.send(port: sluice.port, build: """
                data = raw("Subject: hi\\nContent-Transfer-Encoding: base64\\n\\nY2FzaW5v\\n")
                """)
            #expect(rawBody.hasPrefix("DATA 550 5.7.1 Raw body match"), "\(rawBody)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func innerPartHeadersAreTheirOwnField() async throws {
        try await withRules("""
            stage body
              reject part.header "Content-Disposition" ~ /filename="?[^"]*\\.lnk/i "550 5.7.1 Shortcuts not accepted"
              reject header "Content-Disposition" ~ /./ "550 5.7.1 never: not a top-level field"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "hi"
                msg.set_content("see attached")
                msg.add_attachment(b"L\\x00\\x00\\x00", maintype="application", subtype="octet-stream", filename="run.lnk")
                data = msg
                """)
            #expect(result.hasPrefix("DATA 550 5.7.1 Shortcuts not accepted"), "\(result)")
            #expect(upstream.messages.isEmpty)
        }
    }
}
