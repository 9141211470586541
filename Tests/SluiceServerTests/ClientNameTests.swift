import Foundation
import SluiceDNS
import SluicePolicy
@testable import SluiceServer
import SluiceTestSupport
import Testing

/// Forward-confirmed reverse DNS against a real DNS server: `client.name` is the PTR name that resolves
/// back to the address, `client.name.unverified` the raw PTR name, and a failed lookup is a failure,
/// never an empty name.
@Suite struct ClientNameTests {
    static let zone = """
        7.113.0.203.in-addr.arpa. 300 IN PTR mail.example.test.
        mail.example.test. 300 IN A 203.0.113.7
        8.113.0.203.in-addr.arpa. 300 IN PTR liar.example.test.
        liar.example.test. 300 IN A 198.51.100.1
        9.113.0.203.in-addr.arpa. 300 IN PTR other.example.test.
        9.113.0.203.in-addr.arpa. 300 IN PTR second.example.test.
        second.example.test. 300 IN A 203.0.113.9
        5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR six.example.test.
        six.example.test. 300 IN AAAA 2001:db8::25
        2.0.0.127.in-addr.arpa. 300 IN PTR fake.example.test.
        ;; servfail 10.113.0.203.in-addr.arpa
        ;; servfail broken.example.test
        11.113.0.203.in-addr.arpa. 300 IN PTR broken.example.test.

        """

    private func names(_ address: String, _ resolver: DNSResolver) async -> ClientNames {
        await withCheckedContinuation { continuation in
            ClientNameLookup.lookUp(IPAddress(address)!, resolver: resolver) { continuation.resume(returning: $0) }
        }
    }

    @Test func reverseNamesInBothFamilies() {
        #expect(ClientNameLookup.reverseName(IPAddress("203.0.113.7")!) == "7.113.0.203.in-addr.arpa")
        #expect(ClientNameLookup.reverseName(IPAddress("2001:db8::25")!)
                == "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
    }

    @Test func forwardConfirmationAgainstARealServer() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        let resolver = try DNSResolver(configuration: .init(servers: [dns.forwarder], timeout: 2))
        #expect(await names("203.0.113.7", resolver) == ClientNames(verified: "mail.example.test", unverified: "mail.example.test"))
        #expect(await names("203.0.113.8", resolver) == ClientNames(verified: "", unverified: "liar.example.test"), "does not resolve back")
        let two = await names("203.0.113.9", resolver)
        #expect(two.verified == "second.example.test" && !two.failed, "any of the PTR names may confirm")
        #expect(await names("2001:db8::25", resolver) == ClientNames(verified: "six.example.test", unverified: "six.example.test"))
        #expect(await names("203.0.113.99", resolver) == ClientNames(verified: "", unverified: nil), "no PTR: no name")
        #expect(await names("203.0.113.10", resolver).failed, "SERVFAIL on the PTR")
        let forward = await names("203.0.113.11", resolver)
        #expect(forward.failed && forward.verified == nil && forward.unverified == "broken.example.test", "SERVFAIL on the forward lookup")
        await resolver.stop()
    }

    /// The first reply a client from 127.0.0.2 gets (Python: RawClient connects from 127.0.0.1, whose
    /// PTR libunbound answers itself, `localhost`).
    private func greetingFrom127002(_ port: Int) async throws -> String {
        let result = try await ExternalTool.python("""
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10, source_address=("127.0.0.2", 0))
            print(s.makefile("rb").readline().decode().strip())
            """, ["\(port)"])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Through the relay: rules see both names, and a rule that reads a name whose lookup failed defers.
    @Test func rulesSeeTheNamesAndAFailedLookupDefers() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        try await withRelay(configure: { configuration in
            try? configuration.apply(rules: """
                stage connect
                  reject client.name.unverified = "fake.example.test" and not client.name = "fake.example.test" "550 5.7.25 Reverse DNS does not match"
                """)
            configuration.dnsServers = [dns.forwarder]
        }) { upstream, sluice in
            let greeting = try await greetingFrom127002(sluice.port)
            #expect(greeting == "550 5.7.25 Reverse DNS does not match")
            #expect(upstream.connections == 0)
            // 127.0.0.1 is localhost (forward-confirmed by libunbound's own localhost data): let in.
            let client = try await RawClient.connect(port: sluice.port)
            #expect(await client.waitForReplies(1).first?.hasPrefix("220") == true)
        }
        // 127.0.0.2's PTR answered SERVFAIL: the rule defers with 451 4.4.3 instead of passing.
        let broken = try await TestDNSServer.start(zone: ";; servfail 2.0.0.127.in-addr.arpa\n")
        defer { broken.stop() }
        try await withRelay(configure: { configuration in
            try? configuration.apply(rules: "stage connect\n  reject client.name = \"\" \"550 5.7.25 No reverse DNS\"\n")
            configuration.dnsServers = [broken.forwarder]
        }) { _, sluice in
            let greeting = try await greetingFrom127002(sluice.port)
            #expect(greeting == "451 4.4.3 Temporary DNS failure, try again later")
            #expect(sluice.log.messages.contains { $0.contains("client.name could not be looked up") }, "\(sluice.log.messages)")
        }
    }
}
