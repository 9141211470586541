import Foundation
import SluiceConfig
import SluicePolicy
import SluiceServer
import SluiceTestSupport
import Testing

/// DKIM, DMARC and Authentication-Results through the relay: messages signed by dkimpy (Debian's
/// python3-dkim) and sent with Python's smtplib, keys and policies served by a real DNS server on
/// loopback; and Sluice's own signatures (`dkim sign` + a `sign` rule) verified by dkimpy.
@Suite struct AuthenticationRelayTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.path
    }()
    static let tool = root + "/Tests/DNS/dkim_tool.py"

    /// An RSA-2048 key and its record (from openssl, not from Sluice's code), split into TXT strings.
    static func makeKey(in directory: String) async throws -> (path: String, record: String) {
        let path = directory + "/key.pem", der = directory + "/key.der"
        let made = try await ExternalTool.run("openssl", ["genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path])
        try #require(made.status == 0, "\(made.stderr)")
        let exported = try await ExternalTool.run("openssl", ["pkey", "-in", path, "-pubout", "-outform", "DER", "-out", der])
        try #require(exported.status == 0, "\(exported.stderr)")
        let record = "v=DKIM1; k=rsa; p=" + (try Data(contentsOf: URL(fileURLWithPath: der))).base64EncodedString()
        return (path, record)
    }

    static func zoneStrings(_ text: String) -> String {
        var parts: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty { parts.append("\"\(rest.prefix(200))\""); rest = rest.dropFirst(200) }
        return parts.joined(separator: " ")
    }

    static func message(from: String, body: String = "Hello Bob,\r\n\r\n.a line with a dot\r\nbye\r\n") -> String {
        "From: Alice <\(from)>\r\nTo: bob@example.com\r\nSubject: authenticated\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\n"
            + "Message-ID: <1@example.test>\r\n\r\n" + body
    }

    static func dkimpySign(_ message: String, key: String, domain: String) async throws -> String {
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let result = try await ExternalTool.run(python, [tool, "sign", "--key", key, "--selector", "sel", "--domain", domain,
                                                         "--canon", "relaxed/relaxed", "--headers", "from,to,subject,date,message-id"],
                                                stdin: message)
        try #require(result.status == 0, "dkim_tool.py: \(result.stderr)")
        return result.stdout
    }

    /// Sends `message` with smtplib; the reply to the message (or the error) as text.
    static func send(_ message: String, from: String, port: Int) async throws -> String {
        let result = try await ExternalTool.python("""
            import smtplib, sys
            data = sys.stdin.buffer.read()
            s = smtplib.SMTP("127.0.0.1", \(port), local_hostname="client.example")
            try:
                s.sendmail("\(from)", ["bob@example.com"], data)
                print("250 sent")
            except smtplib.SMTPResponseException as e:
                print(e.smtp_code, e.smtp_error.decode())
            except smtplib.SMTPRecipientsRefused as e:
                print(e)
            s.quit()
            """, stdin: message)
        return result.stdout + result.stderr
    }

    @Test func signedMailPassesTamperedMailMeetsTheDMARCPolicyAndForgedResultsGo() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-auth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try await Self.makeKey(in: directory)
        let dns = try await TestDNSServer.start(zone: """
            sel._domainkey.example.test. 300 IN TXT \(Self.zoneStrings(key.record))
            _dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject"
            example.test. 300 IN TXT "v=spf1 -all"

            """)
        defer { dns.stop() }
        let rules = """
            stage eom
              reject dmarc = fail and dmarc.policy = reject "550 5.7.1 Rejected by the DMARC policy of the From domain"
              tag signed dkim = pass

            """
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: rules) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
            configuration.dnsTimeout = 8
            configuration.dnsBudget = 16
        }) { upstream, sluice in
            let signed = try await Self.dkimpySign(Self.message(from: "alice@example.test"), key: key.path, domain: "example.test")
            // Forged results above the signature: one in Sluice's name (removed), one of another host (kept).
            let forged = "Authentication-Results: sluice.test; dkim=pass header.d=example.test\r\n"
                + "Authentication-Results: other.example; spf=pass smtp.mailfrom=example.test\r\n" + signed
            #expect(try await Self.send(forged, from: "alice@example.test", port: sluice.port).contains("250 sent"))
            let tampered = signed.replacingOccurrences(of: "bye", with: "BYE")
            let refused = try await Self.send(tampered, from: "alice@example.test", port: sluice.port)
            #expect(refused.contains("550") && refused.contains("DMARC policy"), "\(refused)")
            #expect(upstream.messages.count == 1)
            let relayed = try #require(upstream.messages.first).wireData
            #expect(relayed.hasPrefix("Authentication-Results: sluice.test;\r\n\tspf=fail smtp.mailfrom=\"alice@example.test\";\r\n\tdkim=pass header.d=example.test header.s=sel header.a=rsa-sha256;\r\n\tdmarc=pass (p=reject) header.from=example.test policy.dmarc=reject\r\nReceived-SPF: fail "),
                    "\(relayed.prefix(600))")
            #expect(!relayed.contains("sluice.test; dkim=pass header.d=example.test\r\n"), "the forged result is gone")
            #expect(relayed.contains("Authentication-Results: other.example; spf=pass"), "another host's result stays")
        }
    }

    @Test func sluiceSignsWhatASignRulePicksAndDkimpyVerifiesIt() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-auth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try await Self.makeKey(in: directory)
        let rules = """
            dkim sign corp domain "example.test" selector "s2026" key "\(key.path)"
            stage eom
              sign corp sender.domain = "example.test"
              add header "X-Checked" "yes"

            """
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: rules) } catch { Issue.record("\(error)") }
        }) { upstream, sluice in
            #expect(try await Self.send(Self.message(from: "alice@example.test"), from: "alice@example.test", port: sluice.port).contains("250 sent"))
            #expect(try await Self.send(Self.message(from: "eve@other.test"), from: "eve@other.test", port: sluice.port).contains("250 sent"))
            #expect(upstream.messages.count == 2)
            let signed = try #require(upstream.messages.first).wireData
            #expect(signed.hasPrefix("DKIM-Signature: v=1; a=rsa-sha256;"), "\(signed.prefix(300))")
            #expect(!(upstream.messages.last?.wireData.contains("DKIM-Signature") ?? true), "no sign rule fired for other.test")
            // What the upstream received, without the dot-stuffing of the wire, verified by dkimpy.
            let delivered = signed.replacingOccurrences(of: "\r\n..", with: "\r\n.")
            let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
            let verified = try await ExternalTool.run(python, [Self.tool, "verify", "--record", key.record], stdin: delivered)
            #expect(verified.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "True", "\(verified.stdout) \(verified.stderr)")
            let broken = try await ExternalTool.run(python, [Self.tool, "verify", "--record", key.record],
                                                    stdin: delivered.replacingOccurrences(of: "bye", with: "BYE"))
            #expect(broken.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "False")
        }
    }

    @Test func aKeyOfAnotherAlgorithmIsAnErrorWithTheStatementsPlace() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-auth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try await Self.makeKey(in: directory)
        let file = try ConfigurationLoader.load(text: """
            dkim sign corp domain "example.test" selector "s" key "\(key.path)" algorithm ed25519-sha256

            """, file: "k.conf")
        #expect {
            try DKIMSignerLoader.load(file.dkimSigners["corp"]!)
        } throws: { "\($0)".contains("k.conf:1:") && "\($0)".contains("is for rsa-sha256, not ed25519-sha256") }
        try "not a key".write(toFile: directory + "/bad.pem", atomically: true, encoding: .utf8)
        let bad = try ConfigurationLoader.load(text: "dkim sign b domain \"example.test\" selector \"s\" key \"\(directory)/bad.pem\"\n", file: "k.conf")
        #expect(throws: ServerError.self) { try DKIMSignerLoader.load(bad.dkimSigners["b"]!) }
    }

    @Test func aSignRuleNamingNoKeyAndAnUnreadableKeyAreErrorsWithTheirPlace() {
        #expect {
            try ConfigurationLoader.load(text: "stage eom\n  sign nokey\n", file: "s.conf")
        } throws: { "\($0)".contains("s.conf:2:") && "\($0)".contains("no 'dkim sign nokey") }
        #expect {
            try ConfigurationLoader.load(text: "dkim sign a domain \"example.test\" selector \"s\" key \"/nonexistent.pem\"\n", file: "s.conf")
        } throws: { "\($0)".contains("s.conf:1:") && "\($0)".contains("cannot read") }
    }
}
