import Foundation
import SluiceTestSupport
import Testing

/// Attachment facts, compliance detectors and the inspection limits, through the real relay with
/// messages written by Python's email package.
@Suite struct ContentFactsTests {
    @Test func archiveMembersAreNamedLikeAttachments() async throws {
        try await withRules("""
            stage body
              reject attachment.name ~ /\\.(exe|scr|js|vbs)$/i "554 5.7.1 Executable attachments not accepted"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "invoice"
                msg.set_content("please pay")
                msg.add_attachment(zipped([("docs/invoice.pdf.exe", b"MZ" + b"\\x00" * 200)]), maintype="application", subtype="zip", filename="invoice.zip")
                data = msg
                """)
            #expect(result.hasPrefix("DATA 554 5.7.1 Executable attachments"), "\(result)")
            let fine = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "invoice"
                msg.set_content("please pay")
                msg.add_attachment(zipped([("invoice.pdf", b"%PDF-1.4 hello")]), maintype="application", subtype="zip", filename="invoice.zip")
                data = msg
                """)
            #expect(fine.hasPrefix("OK"), "\(fine)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func theKindIsSniffedFromTheContentNotTheName() async throws {
        let elf = try Data(contentsOf: URL(fileURLWithPath: "/bin/true")).prefix(64 * 1024).base64EncodedString()
        try await withRules("""
            stage body
              reject attachment.magic = "executable" "554 5.7.1 Executables not accepted"
              reject attachment.type = "application/x-msdownload" "554 5.7.1 never: the declared type is a PDF"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "document"
                msg.set_content("see attached")
                msg.add_attachment(base64.b64decode("\(elf)"), maintype="application", subtype="pdf", filename="document.pdf")
                data = msg
                """)
            #expect(result.hasPrefix("DATA 554 5.7.1 Executables not accepted"), "\(result)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func attachmentSizeAndMIMECountsAreFacts() async throws {
        try await withRules("""
            stage body
              reject attachment.size > 100K "552 5.3.4 Attachment too large"
              reject mime.parts > 6 "554 5.7.1 Too many parts"
            """) { upstream, sluice in
            let large = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "big"
                msg.set_content("see attached")
                msg.add_attachment(b"x" * 200000, maintype="application", subtype="octet-stream", filename="big.bin")
                data = msg
                """)
            #expect(large.hasPrefix("DATA 552 5.3.4 Attachment too large"), "\(large)")
            let many = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "many"
                msg.set_content("see attached")
                for i in range(8):
                    msg.add_attachment(b"small", maintype="application", subtype="octet-stream", filename="f%d.bin" % i)
                data = msg
                """)
            #expect(many.hasPrefix("DATA 554 5.7.1 Too many parts"), "\(many)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func detectorsFindValidatedNumbersInDecodedText() async throws {
        try await withRules("""
            detector employee-id pcre /\\bE[0-9]{6}\\b/
            stage body
              reject body has card-number "550 5.7.1 Card numbers may not leave"
              reject attachment has iban "550 5.7.1 Bank details may not leave"
              reject count(employee-id) > 2 "550 5.7.1 Employee lists may not leave"
            """) { upstream, sluice in
            let card = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "order"
                msg.set_content("my card: 4111 1111 1111 1111, thanks", cte="base64")
                data = msg
                """)
            #expect(card.hasPrefix("DATA 550 5.7.1 Card numbers"), "\(card)")
            let iban = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "details"
                msg.set_content("see attached")
                msg.add_attachment("Pay to GB82 WEST 1234 5698 7654 32 please", subtype="plain", filename="bank.txt")
                data = msg
                """)
            #expect(iban.hasPrefix("DATA 550 5.7.1 Bank details"), "\(iban)")
            let staff = try await MIMESender.send(port: sluice.port, build: """
                data = raw("Subject: staff\\n\\nE123456 E234567 E345678\\n")
                """)
            #expect(staff.hasPrefix("DATA 550 5.7.1 Employee lists"), "\(staff)")
            // Near misses: a Luhn-invalid 16-digit number, an order number, an IBAN with a bad check.
            let fine = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "order"
                msg.set_content("order 4111111111111112, ref 2026-12-01, E123456 E234567")
                msg.add_attachment("GB83 WEST 1234 5698 7654 32", subtype="plain", filename="bank.txt")
                data = msg
                """)
            #expect(fine.hasPrefix("OK"), "\(fine)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func anEncryptedArchiveIsAFact() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("secret plans".utf8).write(to: directory.appendingPathComponent("plans.txt"))
        let zip = try await ExternalTool.run("zip", ["-q", "-j", "-P", "hunter2", directory.appendingPathComponent("plans.zip").path,
                                                    directory.appendingPathComponent("plans.txt").path])
        #expect(zip.status == 0, "\(zip.stderr)")
        let encoded = try Data(contentsOf: directory.appendingPathComponent("plans.zip")).base64EncodedString()
        try await withRules("""
            stage body
              reject attachment.encrypted "554 5.7.1 Encrypted archives not accepted"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                msg = EmailMessage()
                msg["Subject"] = "plans"
                msg.set_content("attached")
                msg.add_attachment(base64.b64decode("\(encoded)"), maintype="application", subtype="zip", filename="plans.zip")
                data = msg
                """)
            #expect(result.hasPrefix("DATA 554 5.7.1 Encrypted archives"), "\(result)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func aHeaderBlockOverTheLimitIsRefused() async throws {
        try await withRules("""
            limit header-size 64K
            stage header
              add header "X-Seen" "yes"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: """
                filler = "".join("X-Filler-%d: %s\\n" % (i, "f" * 70) for i in range(2000))
                data = raw(filler + "Subject: hi\\n\\nbody\\n")
                """)
            #expect(result.hasPrefix("DATA 552 5.3.4"), "\(result)")
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func overflowSettingsDecideWhatLiesBeyondTheWindow() async throws {
        let long = "data = raw(\"Subject: long\\n\\n\" + (\"word \" * 15 + \"\\n\") * 3000)"
        try await withRules("""
            limit body-inspection 64K overflow reject
            stage body
              reject body ~ /casino/ "550 5.7.1 never"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: long)
            #expect(result.hasPrefix("DATA 552 5.3.4"), "\(result)")
            #expect(upstream.messages.isEmpty)
            #expect(sluice.log.messages.contains { $0.contains("beyond limit body-inspection: overflow reject") })
        }
        try await withRules("""
            limit body-inspection 64K overflow defer
            limit mime-depth 3 overflow reject
            stage body
              reject body ~ /casino/ "550 5.7.1 never"
            """) { upstream, sluice in
            let deferred = try await MIMESender.send(port: sluice.port, build: long)
            #expect(deferred.hasPrefix("DATA 451 4.7.1"), "\(deferred)")
            let deep = try await MIMESender.send(port: sluice.port, build: """
                inner = MIMEText("deep text")
                for level in range(6):
                    outer = MIMEMultipart()
                    outer.attach(inner)
                    inner = outer
                inner["Subject"] = "deep"
                data = inner
                """)
            #expect(deep.hasPrefix("DATA 554 5.6.0"), "\(deep)")
            #expect(upstream.messages.isEmpty)
        }
        try await withRules("""
            limit body-inspection 64K
            stage body
              reject body ~ /casino/ "550 5.7.1 never"
            """) { upstream, sluice in
            let passed = try await MIMESender.send(port: sluice.port, build: long)
            #expect(passed.hasPrefix("OK"), "\(passed)")
            #expect(upstream.messages.count == 1)
            #expect(sluice.log.messages.contains { $0.contains("beyond limit body-inspection: overflow pass") })
        }
    }

    /// Rules at the message that read nothing inside it (here: a header edit, and a test of the
    /// envelope) do not make Sluice parse it: no MIME limit applies, since there is nothing they could
    /// not see. A header block over `limit header-size` is refused all the same (see above).
    @Test func rulesThatReadNoContentLeaveTheMessageUnparsed() async throws {
        let long = "data = raw(\"Subject: long\\n\\n\" + (\"word \" * 15 + \"\\n\") * 3000)"
        try await withRules("""
            limit body-inspection 64K overflow reject
            stage eom
              add header "X-Seen" "yes"
              reject sender = "never@example.test" "550 5.7.1 never"
            """) { upstream, sluice in
            let result = try await MIMESender.send(port: sluice.port, build: long)
            #expect(result.hasPrefix("OK"), "\(result)")
            #expect(upstream.messages.count == 1)
            #expect(upstream.messages.first?.wireData.contains("X-Seen: yes\r\n") == true, "the edit is made")
            #expect(!sluice.log.messages.contains { $0.contains("beyond limit") })
        }
    }
}
