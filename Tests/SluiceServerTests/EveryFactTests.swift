import Foundation
import SluiceConfig
import SluicePolicy
import SluiceTestSupport
import Testing

/// One rule set that uses every DNS and authentication fact, through the relay with smtplib against a
/// real DNS server (client name, a DNS list at connect, right-hand-side lists for the HELO and the
/// sender, SPF, DKIM and DMARC), and `sluice explain` on the same configuration showing what it looked up.
@Suite struct EveryFactTests {
    static func rules(dnsPort: Int? = nil) -> String {
        (dnsPort.map { "dns server 127.0.0.1:\($0)\n" } ?? "") + """
        list zen dnsbl "zen.example.test" weight 2 { 127.0.0.2 }
        list dbl dnsbl "dbl.example.test"
        stage connect
          tag    named client.name = "localhost"
          reject client in zen "554 5.7.1 Listed at zen"
          defer  dnsbl.score >= 5 "451 4.7.1 Score too high"
        stage helo
          reject helo in dbl "550 5.7.1 HELO listed"
        stage mail
          reject sender.domain in dbl "550 5.7.1 Sender domain listed"
          reject spf = fail "550 5.7.23 SPF check failed"
        stage eom
          reject dmarc = fail and dmarc.policy = reject "550 5.7.1 Rejected by the DMARC policy of the From domain"
          add header "X-Named" "yes" tagged named
          add header "X-DKIM" "example.test" dkim = pass and dkim.domain = "example.test"

        """
    }

    static func zone(_ record: String) -> String {
        """
        2.0.0.127.zen.example.test. 300 IN A 127.0.0.2
        spam.example.dbl.example.test. 300 IN A 127.0.1.2
        example.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
        sel._domainkey.example.test. 300 IN TXT \(AuthenticationRelayTests.zoneStrings(record))
        _dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject"

        """
    }

    @Test func everyFactThroughTheRelayAndInExplain() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-facts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try await AuthenticationRelayTests.makeKey(in: directory)
        let dns = try await TestDNSServer.start(zone: Self.zone(key.record))
        defer { dns.stop() }
        let signed = try await AuthenticationRelayTests.dkimpySign(AuthenticationRelayTests.message(from: "alice@example.test"),
                                                                 key: key.path, domain: "example.test")
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: Self.rules()) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
            configuration.dnsTimeout = 8
            configuration.dnsBudget = 16
        }) { upstream, sluice in
            let sent = try await AuthenticationRelayTests.send(signed, from: "alice@example.test", port: sluice.port)
            #expect(sent.contains("250 sent"), "\(sent)")
            // From 127.0.0.2, listed at zen: refused at connect.
            let listed = try await ExternalTool.python("""
                import smtplib
                try:
                    smtplib.SMTP("127.0.0.1", \(sluice.port), source_address=("127.0.0.2", 0))
                except smtplib.SMTPConnectError as e:
                    print(e.smtp_code, e.smtp_error.decode())
                """)
            #expect(listed.stdout.contains("554 5.7.1 Listed at zen"), "\(listed.stdout) \(listed.stderr)")
            let spam = try await AuthenticationRelayTests.send(signed, from: "x@spam.example", port: sluice.port)
            #expect(spam.contains("550") && spam.contains("Sender domain listed"), "\(spam)")
            #expect(upstream.messages.count == 1)
            let relayed = try #require(upstream.messages.first).wireData
            #expect(relayed.contains("\r\nX-Named: yes\r\n") && relayed.contains("\r\nX-DKIM: example.test\r\n"), "\(relayed.prefix(900))")
            #expect(relayed.contains("dkim=pass header.d=example.test") && relayed.contains("dmarc=pass"))
        }

        // sluice explain with the same rules and a `dns server`: what it looked up, stage by stage.
        try (Self.rules(dnsPort: dns.port) + "acknowledge open-relay\n").write(toFile: directory + "/facts.conf", atomically: true, encoding: .utf8)
        try signed.write(toFile: directory + "/m.eml", atomically: true, encoding: .utf8)
        let explained = try await ExternalTool.run(SluiceProcess.binary, [
            "explain", "--config", directory + "/facts.conf", "--client", "127.0.0.1", "--helo", "client.example",
            "--from", "alice@example.test", "--to", "bob@example.com", directory + "/m.eml"])
        let out = explained.stdout
        #expect(explained.status == 0, "\(explained.stderr)")
        #expect(out.contains("looked up: client.name = \"localhost\""), "\(out)")
        #expect(out.contains("looked up: client in zen (zen.example.test): not listed"))
        #expect(out.contains("looked up: spf = pass for example.test (matched ip4:127.0.0.0/8)"))
        #expect(out.contains("looked up: dkim = pass d=example.test s=sel a=rsa-sha256"))
        #expect(out.contains("looked up: dmarc = pass for example.test, policy reject"))
        #expect(out.contains("result: relayed"))
    }
}
