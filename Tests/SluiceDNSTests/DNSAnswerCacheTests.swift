import Foundation
import NIOConcurrencyHelpers
import SluiceDNS
import SluiceTestSupport
import Testing

/// The answers the resolver keeps in front of libunbound: for their TTL (the clock is a parameter),
/// by name without regard to case or the root's dot, never a failure, within a bound; and, through a
/// real DNS server, a kept answer given at once on the caller's thread.
@Suite struct DNSAnswerCacheTests {
    static let record: [UInt8] = [192, 0, 2, 1]

    @Test func anAnswerIsKeptForItsTTLWithTheTTLThatIsLeft() {
        let cache = DNSAnswerCache()
        cache.store(.answer([Self.record], ttl: 300), ttl: 300, for: "mail.example.test", .a, now: 1000)
        #expect(cache.answer("mail.example.test", .a, now: 1000.5) == .answer([Self.record], ttl: 299))
        #expect(cache.answer("mail.example.test", .a, now: 1200) == .answer([Self.record], ttl: 100))
        #expect(cache.answer("mail.example.test", .a, now: 1300) == nil, "the TTL has run out")
        #expect(cache.count == 0, "an expired entry goes when it is asked for")
        #expect(cache.answer("mail.example.test", .aaaa, now: 1000) == nil, "another type is another entry")
    }

    @Test func namesAreCaseInsensitiveWithOrWithoutTheRootsDot() {
        let cache = DNSAnswerCache()
        cache.store(.nxdomain, ttl: 60, for: "Nope.Example.TEST.", .txt, now: 0)
        #expect(cache.answer("nope.example.test", .txt, now: 1) == .nxdomain)
        #expect(cache.answer("NOPE.example.test.", .txt, now: 1) == .nxdomain)
    }

    @Test func negativeAnswersAreKeptButFailuresAndZeroTTLsNever() {
        let cache = DNSAnswerCache()
        cache.store(.noData, ttl: 30, for: "a.test", .mx, now: 0)
        cache.store(.nxdomain, ttl: 30, for: "b.test", .a, now: 0)
        for (index, failure) in [DNSResult.serverFailure(2), .timedOut, .failed("x")].enumerated() {
            cache.store(failure, ttl: 300, for: "f\(index).test", .a, now: 0)
        }
        cache.store(.answer([Self.record], ttl: 0), ttl: 0, for: "zero.test", .a, now: 0)
        #expect(cache.answer("a.test", .mx, now: 29) == .noData)
        #expect(cache.answer("b.test", .a, now: 29) == .nxdomain)
        #expect(cache.count == 2, "no failure, no TTL of 0")
    }

    @Test func theCacheStaysWithinItsCapacity() {
        let cache = DNSAnswerCache(capacity: 4096)
        let big = [UInt8](repeating: 1, count: 200)
        for index in 0..<100 {
            cache.store(.answer([big], ttl: 300), ttl: 300, for: "n\(index).test", .txt, now: Double(index))
        }
        #expect(cache.count > 0 && cache.count * 200 <= 4096, "\(cache.count) entries of 200 octets")
        cache.store(.answer([[UInt8](repeating: 2, count: 2000)], ttl: 300), ttl: 300, for: "huge.test", .txt, now: 0)
        #expect(cache.answer("huge.test", .txt, now: 1) == nil, "an answer over a quarter of the capacity is not kept")
        // Full of entries that have expired: they go first, the new one stays.
        let expiring = DNSAnswerCache(capacity: 4096)
        for index in 0..<16 { expiring.store(.answer([big], ttl: 10), ttl: 10, for: "e\(index).test", .txt, now: 0) }
        expiring.store(.answer([big], ttl: 300), ttl: 300, for: "fresh.test", .txt, now: 100)
        expiring.store(.answer([big], ttl: 300), ttl: 300, for: "fresh2.test", .txt, now: 100)
        #expect(expiring.count == 2)
        #expect(expiring.answer("fresh.test", .txt, now: 101) != nil)
    }

    @Test func aKeptAnswerIsGivenAtOnceOnTheCallersThread() async throws {
        let server = try await TestDNSServer.start(zone: "mail.example.test. 300 IN A 192.0.2.1\n")
        let resolver = try DNSResolver(configuration: .init(servers: [server.forwarder], timeout: 5 * Patience.factor))
        guard case .answer([Self.record], _) = await resolver.lookup("mail.example.test", .a) else { Issue.record("no answer"); return }
        // NXDOMAIN with the zone's SOA: kept for the SOA's minimum.
        #expect(await resolver.lookup("nope.example.test", .a) == .nxdomain)
        #expect(resolver.counters.withLockedValue { $0.cacheHits } == 0)
        for name in ["MAIL.example.test.", "nope.example.test"] {
            let answered = NIOLockedValueBox<DNSResult?>(nil)
            resolver.lookup(name, .a) { result in answered.withLockedValue { $0 = result } }
            // The completion ran inside `lookup`: no hop to the resolver's thread.
            let result = answered.withLockedValue { $0 }
            #expect(result != nil, "\(name): answered before lookup returned")
            if name.hasPrefix("MAIL") { #expect(result.map { if case .answer = $0 { true } else { false } } == true) }
        }
        #expect(resolver.counters.withLockedValue { $0.cacheHits } == 2)
        // The async lookup returns it too, without suspending to ask anyone: the server is gone.
        server.stop()
        guard case .answer = await resolver.lookup("mail.example.test", .a, timeout: 1) else { Issue.record("not kept"); return }
        #expect(resolver.counters.withLockedValue { $0.cacheHits } == 3)
        await resolver.stop()
    }
}
