import Foundation
import SluiceDNS
import SluicePolicy
import SluiceTestSupport
import Testing

/// DMARC against a real DNS server on loopback: alignment (relaxed by the Public Suffix List, strict),
/// the organizational domain's record and its `sp=`, `pct=` sampling, no record, a failed lookup, and
/// From fields that do not name exactly one author.
@Suite struct DMARCTests {
    static let zone = """
        _dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:d@example.test"
        _dmarc.sampled.test. 300 IN TXT "v=DMARC1; p=reject; pct=0"
        _dmarc.twice.test. 300 IN TXT "v=DMARC1; p=reject"
        _dmarc.twice.test. 300 IN TXT "v=DMARC1; p=none"
        _dmarc.nopolicy.test. 300 IN TXT "v=DMARC1; rua=mailto:x@nopolicy.test"
        ;; servfail _dmarc.broken.test

        """

    private func evaluator(_ server: TestDNSServer, sample: Int = 0) throws -> (DMARCEvaluator, DNSResolver) {
        let resolver = try DNSResolver(configuration: .init(servers: [server.forwarder], timeout: 5))
        return (DMARCEvaluator(sample: { sample }) { name, type in await resolver.lookup(name, type) }, resolver)
    }

    private func spf(_ result: SPFResult, _ domain: String) -> SPFVerdict { SPFVerdict(result: result, domain: domain) }

    @Test func organizationalDomainsComeFromThePublicSuffixList() {
        let list = PublicSuffixList.shared
        #expect(list.organizationalDomain("mail.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain("a.b.example.com.") == "example.com")
        #expect(list.organizationalDomain("co.uk") == "co.uk", "a public suffix is its own")
        #expect(list.organizationalDomain("mail.example.test") == "example.test")
    }

    @Test func theAuthorDomainOfAFromField() {
        #expect(DMARCEvaluator.authorDomain("\"Alice, the <boss>\" <alice@Example.TEST>") == "example.test")
        #expect(DMARCEvaluator.authorDomain("bob@example.test (Bob <b@other.test>)") == "example.test")
        #expect(DMARCEvaluator.authorDomain("a@one.test, b@two.test") == nil, "two authors")
        #expect(DMARCEvaluator.authorDomain("Undisclosed") == nil)
    }

    @Test func alignmentPolicyAndItsSubdomainPolicy() async throws {
        let server = try await TestDNSServer.start(zone: Self.zone)
        defer { server.stop() }
        let (dmarc, resolver) = try evaluator(server)
        // SPF relaxed: bounce.example.test is aligned with example.test.
        let relaxed = await dmarc.evaluate(from: ["<a@example.test>"], spf: spf(.pass, "bounce.example.test"), dkimPassing: [])
        #expect(relaxed.result == .pass && relaxed.spfAligned && !relaxed.dkimAligned && relaxed.policy == .reject)
        // DKIM strict (adkim=s): a signature of mail.example.test is not aligned, one of example.test is.
        let strict = await dmarc.evaluate(from: ["a@example.test"], spf: spf(.fail, "example.test"), dkimPassing: ["mail.example.test"])
        #expect(strict.result == .fail && strict.policy == .reject)
        let signed = await dmarc.evaluate(from: ["a@example.test"], spf: nil, dkimPassing: ["EXAMPLE.test"])
        #expect(signed.result == .pass && signed.dkimAligned)
        // A subdomain without a record of its own: the organizational domain's, with its sp=.
        let sub = await dmarc.evaluate(from: ["a@news.example.test"], spf: spf(.softfail, "news.example.test"), dkimPassing: [])
        #expect(sub.result == .fail && sub.policy == .quarantine && sub.fromDomain == "news.example.test")
        // A pass of another organization aligns nothing.
        let other = await dmarc.evaluate(from: ["a@example.test"], spf: spf(.pass, "example.org.test"), dkimPassing: ["other.test"])
        #expect(other.result == .fail)
        await resolver.stop()
    }

    @Test func samplingNoRecordFailuresAndBadFromFields() async throws {
        let server = try await TestDNSServer.start(zone: Self.zone)
        defer { server.stop() }
        let (dmarc, resolver) = try evaluator(server, sample: 50)
        let sampled = await dmarc.evaluate(from: ["a@sampled.test"], spf: nil, dkimPassing: [])
        #expect(sampled.result == .fail && sampled.policy == .quarantine, "pct=0: outside the sample, the next milder policy")
        #expect(await dmarc.evaluate(from: ["a@nothing.test"], spf: nil, dkimPassing: []).result == .none)
        #expect(await dmarc.evaluate(from: ["a@twice.test"], spf: nil, dkimPassing: []).result == .none, "two records: none")
        #expect(await dmarc.evaluate(from: ["a@nopolicy.test"], spf: nil, dkimPassing: []).result == .none, "no p=: no record")
        #expect(await dmarc.evaluate(from: ["a@broken.test"], spf: nil, dkimPassing: []).result == .temperror)
        #expect(await dmarc.evaluate(from: ["a@example.test", "b@example.test"], spf: nil, dkimPassing: []).result == .permerror)
        #expect(await dmarc.evaluate(from: [], spf: nil, dkimPassing: []).result == .permerror)
        // Nothing aligned passed, but SPF or a DKIM key could not be looked up: temperror, never fail.
        #expect(await dmarc.evaluate(from: ["a@example.test"], spf: spf(.temperror, "example.test"), dkimPassing: []).result == .temperror)
        #expect(await dmarc.evaluate(from: ["a@example.test"], spf: nil, dkimPassing: [], dkimTemporaryFailure: true).result == .temperror)
        await resolver.stop()
    }
}
