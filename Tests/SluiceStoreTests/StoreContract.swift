import SluicePolicy
import SluiceStore
import Testing

/// The same transitions every store must apply (the SQL upsert is `Greylist.transition` in SQL).
enum StoreContract {
    static let key = GreylistKey(network: "192.0.2.0/24", sender: "alice@sender.example", recipient: "bob@example.com")

    static func transitions(_ store: any GreylistStore) async throws {
        var settings = GreylistSettings()
        settings.autoAllow = 0
        let t0: Int64 = 1_800_000_000
        #expect(try await store.decide(key, now: t0, settings: settings) == .deferred(retryAfter: 300))
        #expect(try await store.decide(key, now: t0 + 100, settings: settings) == .deferred(retryAfter: 200))
        #expect(try await store.decide(key, now: t0 + 300, settings: settings) == .pass)
        #expect(try await store.decide(key, now: t0 + 86400, settings: settings) == .pass)
        // Expired after `expire` without contact: starts over.
        #expect(try await store.decide(key, now: t0 + 86400 + settings.expire + 1, settings: settings) == .deferred(retryAfter: 300))
        // Not retried within the window: starts over again.
        let other = GreylistKey(network: "198.51.100.0/24", sender: "<>", recipient: "bob@example.com")
        #expect(try await store.decide(other, now: t0, settings: settings) == .deferred(retryAfter: 300))
        #expect(try await store.decide(other, now: t0 + settings.retryWindow + 1, settings: settings) == .deferred(retryAfter: 300))
        let stats = try await store.stats(now: t0)
        #expect(stats.pending == 2 && stats.passed == 0)
    }

    static func autoAllow(_ store: any GreylistStore) async throws {
        var settings = GreylistSettings()
        settings.autoAllow = 3
        let t0: Int64 = 1_800_000_000
        func key(_ n: Int) -> GreylistKey { GreylistKey(network: "203.0.113.0/24", sender: "s\(n)@x.example", recipient: "r@example.com") }
        // Three keys pass, an hour apart: the network is then allowed, new keys pass at once.
        for n in 0..<3 {
            let start = t0 + Int64(n) * 3600
            _ = try await store.decide(key(n), now: start, settings: settings)
            #expect(try await store.decide(key(n), now: start + 300, settings: settings) == .pass)
        }
        #expect(try await store.decide(key(99), now: t0 + 3 * 3600, settings: settings) == .pass)
        #expect(try await store.stats(now: t0 + 3 * 3600).autoAllowedNetworks == 1)
    }

    static func passesCountedOncePerHour(_ store: any GreylistStore) async throws {
        var settings = GreylistSettings()
        settings.autoAllow = 2
        let t0: Int64 = 1_800_000_000
        let k = GreylistKey(network: "198.18.0.0/24", sender: "a@x.example", recipient: "r@example.com")
        _ = try await store.decide(k, now: t0, settings: settings)
        for offset in [300, 400, 500, 600] { #expect(try await store.decide(k, now: t0 + Int64(offset), settings: settings) == .pass) }
        let fresh = GreylistKey(network: "198.18.0.0/24", sender: "b@x.example", recipient: "r@example.com")
        #expect(try await store.decide(fresh, now: t0 + 700, settings: settings) == .deferred(retryAfter: 300),
                "four passes within an hour count once")
    }

    static func administration(_ store: any GreylistStore) async throws {
        let settings = GreylistSettings()
        let t0: Int64 = 1_800_000_000
        _ = try await store.decide(key, now: t0, settings: settings)
        #expect(try await store.list(filter: "sender.example", now: t0).map(\.key) == [key])
        #expect(try await store.list(filter: "nothing-like-this", now: t0).isEmpty)
        #expect(try await store.forget(key))
        #expect(try await !store.forget(key))
        try await store.allow(.network("192.0.2.0/24"))
        #expect(try await store.decide(key, now: t0, settings: settings) == .pass)
        let byDomain = GreylistKey(network: "10.9.9.0/24", sender: "x@bigsender.example", recipient: "bob@example.com")
        try await store.allow(.senderDomain("bigsender.example"))
        #expect(try await store.decide(byDomain, now: t0, settings: settings) == .pass)
        #expect(try await store.stats(now: t0).allowEntries == 2)
        // Expiry removes keys not retried within the window.
        _ = try await store.decide(GreylistKey(network: "10.1.1.0/24", sender: "a@b.example", recipient: "c@d.example"), now: t0, settings: settings)
        #expect(try await store.expire(now: t0 + settings.retryWindow + 1, settings: settings) == 1)
    }
}
