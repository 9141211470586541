import Foundation
import SluiceConfig
import SluicePolicy
import SluiceTestSupport
import Testing

/// SPF through the relay: swaks sends from 127.0.0.1, Sluice checks the sender's domain (and the HELO)
/// against a real DNS server on loopback, the rules see `spf` and `spf.helo`, and a relayed message
/// carries `Received-SPF` above Sluice's `Received:`. A lookup that fails defers (451 4.4.3) unless
/// the rule tests `spf = temperror` itself.
@Suite struct SPFRelayTests {
    static let zone = """
        good.example.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
        bad.example.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
        soft.example.test. 300 IN TXT "v=spf1 include:_spf.soft.example.test ~all"
        _spf.soft.example.test. 300 IN TXT "v=spf1 ip4:192.0.2.1"
        helo.example.test. 300 IN TXT "v=spf1 a -all"
        helo.example.test. 300 IN A 127.0.0.1
        ;; servfail broken.example.test

        """

    static let rules = """
        stage mail
          accept spf = temperror
          reject spf = fail "550 5.7.23 SPF says no"
          tag soft spf = softfail
          reject spf = permerror "550 5.7.24 SPF record broken"

        """

    private func send(_ from: String, helo: String = "client.example", to sluice: TestServer) async throws -> ExternalTool.Result {
        try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--from", from, "--to", "bob@example.com",
                                             "--helo", helo, "--header", "Subject: spf"])
    }

    @Test func theRulesSeeTheResultAndTheMessageCarriesReceivedSPF() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: Self.rules) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
            configuration.dnsTimeout = 8
            configuration.dnsBudget = 16
        }) { upstream, sluice in
            let good = try await send("alice@good.example.test", helo: "helo.example.test", to: sluice)
            #expect(good.status == 0, "\(good.stdout)")
            let refused = try await send("mallory@bad.example.test", to: sluice)
            #expect(refused.stdout.contains("<** 550 5.7.23 SPF says no"), "\(refused.stdout)")
            let broken = try await send("carol@broken.example.test", to: sluice)
            #expect(broken.status == 0, "a temperror the rules accept first goes on: \(broken.stdout)")
            #expect(upstream.messages.count == 2)
            let message = try #require(upstream.messages.first)
            #expect(message.wireData.hasPrefix("Authentication-Results: sluice.test;\r\n\tspf=pass smtp.mailfrom=\"alice@good.example.test\"\r\nReceived-SPF: pass (sluice.test: domain of alice@good.example.test designates 127.0.0.1 as permitted sender)\r\n\tclient-ip=127.0.0.1;"),
                    "\(message.wireData.prefix(400))")
            #expect(message.wireData.contains("\tenvelope-from=\"alice@good.example.test\";\r\n\thelo=helo.example.test;\r\n\treceiver=sluice.test;\r\n\tidentity=mailfrom;\r\n\tmechanism=\"ip4:127.0.0.0/8\";\r\nReceived: from helo.example.test"))
            let third = try #require(upstream.messages.last)
            #expect(third.wireData.contains("\r\nReceived-SPF: temperror "), "\(third.wireData.prefix(200))")
        }
    }

    @Test func aRuleOnAFailedLookupDefersAndTheHeloIdentityIsItsOwnFact() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        let rules = """
            stage mail
              reject spf != pass "550 5.7.23 not authorised"
              reject spf.helo = fail "550 5.7.25 HELO not authorised"

            """
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: rules) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
            configuration.dnsTimeout = 8
            configuration.dnsBudget = 16
        }) { upstream, sluice in
            let broken = try await send("carol@broken.example.test", to: sluice)
            #expect(broken.stdout.contains("<** 451 4.4.3 Temporary DNS failure, try again later"), "\(broken.stdout)")
            #expect(sluice.log.messages.contains { $0.contains("spf could not be looked up") }, "\(sluice.log.messages)")
            // The sender passes; the HELO name is checked on its own: bad.example.test does not list 127.0.0.1.
            let badHelo = try await send("alice@good.example.test", helo: "bad.example.test", to: sluice)
            #expect(badHelo.stdout.contains("<** 550 5.7.25 HELO not authorised"), "\(badHelo.stdout)")
            let good = try await send("alice@good.example.test", helo: "helo.example.test", to: sluice)
            #expect(good.status == 0, "\(good.stdout)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func aResultWordThatIsNotOneIsAnErrorWithItsPlace() {
        #expect {
            try ConfigurationLoader.load(text: "stage mail\n  reject spf = fial \"550 no\"\n", file: "r.conf")
        } throws: { error in
            "\(error)".contains("r.conf:2:") && "\(error)".contains("not 'fial'") && "\(error)".contains("fail")
        }
    }
}
