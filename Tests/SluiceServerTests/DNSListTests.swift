import Foundation
import SluiceConfig
import SluicePolicy
import SluiceTestSupport
import Testing

/// DNS block lists: the query name, what an answer means, the configuration, and the relay against a
/// real DNS server: a hit, an answer outside the codes, a miss, 127.255.255.x, SERVFAIL, the score.
@Suite struct DNSListTests {
    @Test func queryNamesAndAnswers() {
        let zen = DNSList(name: "zen", zone: "zen.example.", weight: 2, codes: [0x7F00_0002...0x7F00_0002, 0x7F00_0004...0x7F00_0007])
        #expect(zen.queryName(for: IPAddress("192.0.2.99")!) == "99.2.0.192.zen.example")
        #expect(zen.queryName(for: IPAddress("2001:db8::1")!)
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example")
        #expect(zen.result(answers: [0x7F00_0002]) == .listed)
        #expect(zen.result(answers: [0x7F00_0006]) == .listed)
        #expect(zen.result(answers: [0x7F00_000A]) == .notListed, "an answer outside the codes")
        #expect(zen.result(answers: [0x7FFF_FFFE]) == .failed, "127.255.255.254: querying too much, not a hit")
        let any = DNSList(name: "any", zone: "any.example")
        #expect(any.result(answers: [0x7F00_0009]) == .listed && any.result(answers: [0x0A00_0001]) == .notListed)
    }

    @Test func theListStatement() throws {
        let configuration = try ConfigurationLoader.load(text: """
            list zen dnsbl "zen.example" weight 2 { 127.0.0.2, 127.0.0.4-127.0.0.7 }
            list plain dnsbl "plain.example"
            stage connect
              reject client in zen "554 5.7.1 listed"
              defer dnsbl.score >= 3 "451 4.7.1 later"

            """, file: "c")
        guard case .dnsbl(let zen)? = configuration.lists["zen"]?.items else { Issue.record("no dnsbl list"); return }
        #expect(zen.zone == "zen.example" && zen.weight == 2 && zen.codes == [0x7F00_0002...0x7F00_0002, 0x7F00_0004...0x7F00_0007])
        #expect(configuration.ruleSet.dnsLists.map(\.name) == ["zen", "plain"], "dnsbl.score needs every list")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(text: "list bad dnsbl \"x.example\" { 10.0.0.1-10.0.0.0 }\n", file: "c")
        }
    }

    static let zone = """
        1.0.0.127.zen.example.test. 300 IN A 127.0.0.2
        1.0.0.127.pbl.example.test. 300 IN A 127.0.0.11
        1.0.0.127.busy.example.test. 300 IN A 127.255.255.254
        1.0.0.127.extra.example.test. 300 IN A 127.0.0.3
        ;; servfail broken.example.test
        spammer.example.dbl.example.test. 300 IN A 127.0.1.2
        bad-helo.example.dbl.example.test. 300 IN A 127.0.1.2
        ;; servfail failing.example.dbl.example.test

        """

    private func greeting(_ rules: String, _ dns: TestDNSServer) async throws -> String {
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: rules) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
        }) { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            return await client.waitForReplies(1).first ?? ""
        }
    }

    /// Right-hand-side lists: the sender's domain at mail, the HELO name at helo.
    @Test func domainListsForTheSenderAndTheHelo() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        let rules = """
            list dbl dnsbl "dbl.example.test" { 127.0.1.2 }
            stage helo
              reject helo in dbl "550 5.7.1 HELO listed"
            stage mail
              reject sender.domain in dbl "550 5.7.1 Sender domain listed"

            """
        try await withRelay(configure: { configuration in
            do { try configuration.apply(rules: rules) } catch { Issue.record("\(error)") }
            configuration.dnsServers = [dns.forwarder]
        }) { upstream, sluice in
            func replies(_ helo: String, _ sender: String) async throws -> [String] {
                let client = try await RawClient.connect(port: sluice.port)
                try await client.send("EHLO \(helo)\r\nMAIL FROM:<\(sender)>\r\nQUIT\r\n")
                _ = await client.waitForClose(seconds: 10)
                return client.replies
            }
            let badHelo = try await replies("bad-helo.example", "a@fine.example")
            #expect(badHelo.map { String($0.prefix(3)) } == ["220", "550", "503", "221"] && badHelo[1] == "550 5.7.1 HELO listed", "\(badHelo)")
            let badSender = try await replies("fine.example", "a@spammer.example")
            #expect(badSender.map { String($0.prefix(3)) } == ["220", "250", "550", "221"] && badSender[2] == "550 5.7.1 Sender domain listed")
            #expect(try await replies("fine.example", "a@fine.example").map { String($0.prefix(3)) } == ["220", "250", "250", "221"])
            let failing = try await replies("fine.example", "a@failing.example")
            #expect(failing.count == 4 && failing[2].hasPrefix("451 4.4.3"), "\(failing)")
            #expect(try await replies("[127.0.0.1]", "a@fine.example").map { String($0.prefix(3)) } == ["220", "250", "250", "221"],
                    "an address literal is not looked up")
            #expect(upstream.commands.filter { $0.hasPrefix("MAIL") }.count == 2, "refused commands never reach the upstream")
        }
    }

    @Test func throughTheRelayAgainstARealServer() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        let lists = """
            list zen dnsbl "zen.example.test" weight 2 { 127.0.0.2-127.0.0.3 }
            list pbl dnsbl "pbl.example.test" { 127.0.0.10 }
            list clean dnsbl "clean.example.test"
            list busy dnsbl "busy.example.test"
            list broken dnsbl "broken.example.test"
            list extra dnsbl "extra.example.test" weight 1

            """
        func stage(_ rule: String) -> String { lists + "stage connect\n  " + rule + "\n" }
        #expect(try await greeting(stage("reject client in zen \"554 5.7.1 Listed in zen\""), dns) == "554 5.7.1 Listed in zen")
        #expect(try await greeting(stage("reject client in pbl \"554 5.7.1 no\""), dns).hasPrefix("220"), "answer outside the codes")
        #expect(try await greeting(stage("reject client in clean \"554 5.7.1 no\""), dns).hasPrefix("220"), "NXDOMAIN: not listed")
        #expect(try await greeting(stage("reject client in busy \"554 5.7.1 no\""), dns) == "451 4.4.3 Temporary DNS failure, try again later")
        #expect(try await greeting(stage("reject client in broken \"554 5.7.1 no\""), dns) == "451 4.4.3 Temporary DNS failure, try again later")
        #expect(try await greeting(stage("reject not client in clean and client in zen \"554 5.7.1 both\""), dns) == "554 5.7.1 both")
        // The score sums every list that lists the client (zen 2 + extra 1), and fails with any that failed.
        let scored = """
            list zen dnsbl "zen.example.test" weight 2
            list extra dnsbl "extra.example.test" weight 1
            list clean dnsbl "clean.example.test" weight 5
            stage connect
              reject dnsbl.score >= 3 "554 5.7.1 Score too high"

            """
        #expect(try await greeting(scored, dns) == "554 5.7.1 Score too high")
        #expect(try await greeting(scored.replacingOccurrences(of: ">= 3", with: ">= 4"), dns).hasPrefix("220"))
        let failing = scored.replacingOccurrences(of: "clean.example.test", with: "broken.example.test")
        #expect(try await greeting(failing, dns) == "451 4.4.3 Temporary DNS failure, try again later")
    }
}
