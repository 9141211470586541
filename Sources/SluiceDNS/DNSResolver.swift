import CUnbound
import Foundation
import NIOConcurrencyHelpers

/// An asynchronous DNS resolver on libunbound, never on an event loop: libunbound in thread mode
/// (`ub_ctx_async(ctx, 1)`; its default fork mode duplicated buffered output), and one thread of
/// Sluice's that waits on `ub_fd`, calls `ub_process` (which runs the callbacks) and enforces every
/// lookup's own deadline with `ub_cancel` (a dead server takes libunbound about 17 s to give up on).
/// Answers are cached by libunbound for their TTL, NXDOMAIN too, and in front of it by Sluice
/// (`DNSAnswerCache`): a lookup whose answer is kept completes at once, on the caller's thread; any
/// other completes on the resolver's thread. Either way the caller hops to its own event loop.
public final class DNSResolver: @unchecked Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `dns server 127.0.0.1:5353`: forward every query there (`ADDR@PORT` for libunbound); empty:
        /// the servers of /etc/resolv.conf.
        public var servers: [String] = []
        /// Each lookup's deadline, seconds.
        public var timeout: Double = 5
        /// DNSSEC validation (off unless configured: it needs a trust anchor).
        public var validate = false
        /// Answer from /etc/hosts first (as getnameinfo does: 127.0.0.1 is localhost).
        public var systemHosts = false

        public init(servers: [String] = [], timeout: Double = 5, systemHosts: Bool = false) {
            self.servers = servers
            self.timeout = timeout
            self.systemHosts = systemHosts
        }
    }

    public enum SetupError: Error, CustomStringConvertible {
        case libunbound(String, Int32)
        public var description: String {
            switch self {
            case .libunbound(let call, let code): return "\(call): \(String(cString: ub_strerror(code)))"
            }
        }
    }

    /// A lookup in flight: its completion, its deadline, libunbound's id for it.
    final class Pending {
        let name: String
        let type: RecordType
        let completion: @Sendable (DNSResult) -> Void
        let deadline: Double
        var asyncID: Int32 = 0
        init(name: String, type: RecordType, completion: @escaping @Sendable (DNSResult) -> Void, deadline: Double) {
            self.name = name
            self.type = type
            self.completion = completion
            self.deadline = deadline
        }
    }

    private let context: OpaquePointer
    private let configuration: Configuration
    /// Each lookup's own deadline, seconds (`dns timeout`).
    public var timeout: Double { configuration.timeout }
    /// Lookups in flight by Sluice's own number (the callback's `mydata`).
    private let pending = NIOLockedValueBox<[Int: Pending]>([:])
    /// One numbering for every resolver (the C callback carries only the number).
    private static let nextNumber = NIOLockedValueBox(0)
    private let stopped = NIOLockedValueBox(false)
    /// Wakes the thread when a lookup with an earlier deadline arrives, or at shutdown.
    private let wake: (read: Int32, write: Int32)
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// The answers kept in front of libunbound's cache.
    public let cache = DNSAnswerCache()

    /// Lookups made, those answered by `cache` (the rest went to libunbound: its cache or the network),
    /// and those that timed out.
    public let counters = NIOLockedValueBox(Counters())
    public struct Counters: Sendable, Hashable {
        public var lookups = 0
        public var cacheHits = 0
        public var timeouts = 0
    }

    public init(configuration: Configuration) throws(SetupError) {
        guard let context = ub_ctx_create() else { throw .libunbound("ub_ctx_create", -1) }
        self.context = context
        self.configuration = configuration
        func check(_ call: String, _ code: Int32) throws(SetupError) {
            if code != 0 { ub_ctx_delete(context); throw .libunbound(call, code) }
        }
        try check("ub_ctx_async", ub_ctx_async(context, 1))
        if configuration.systemHosts { _ = ub_ctx_hosts(context, "/etc/hosts") }
        if configuration.servers.isEmpty {
            try check("ub_ctx_resolvconf", ub_ctx_resolvconf(context, "/etc/resolv.conf"))
        } else {
            for server in configuration.servers { try check("ub_ctx_set_fwd(\(server))", ub_ctx_set_fwd(context, server)) }
        }
        // Forwarded queries are answered from the forwarder's cache or its authority: no
        // iteration, and the answers of a test server are taken as they come.
        _ = ub_ctx_set_option(context, "do-not-query-localhost:", "no")
        if !configuration.validate { _ = ub_ctx_set_option(context, "val-permissive-mode:", "yes") }
        // Zones last (adding one finalizes the settings): libunbound answers test. and the TEST-NET
        // reverse zones itself unless told not to (`local-zone:` through ub_ctx_set_option silently
        // does not).
        // The private ranges' reverse zones (RFC 1918, link-local, ULA) go to the configured server
        // too: an outbound relay's clients are on them, and the site's DNS knows their names.
        // (127.0.0.1 stays localhost: libunbound's localhost data answers it whatever.)
        let privateReverse = ["10.in-addr.arpa.", "168.192.in-addr.arpa.", "254.169.in-addr.arpa.", "d.f.ip6.arpa.", "8.e.f.ip6.arpa."]
            + (16...31).map { "\($0).172.in-addr.arpa." }
        for zone in ["test.", "invalid.", "8.b.d.0.1.0.0.2.ip6.arpa.", "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
                     "127.in-addr.arpa.", "localhost.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."] + privateReverse {
            _ = ub_ctx_zone_add(context, zone, "nodefault")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { ub_ctx_delete(context); throw .libunbound("pipe", -1) }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wake = (fds[0], fds[1])
        // The thread holds the resolver until `shutdown()` ends it.
        let thread = Thread { self.run() }
        thread.name = "sluice-dns"
        self.thread = thread
        thread.start()
    }

    /// Looks `name` up; `completion` runs once with the answer or the failure: at once, on the caller's
    /// thread, for an answer `cache` keeps, else on the resolver's thread.
    public func lookup(_ name: String, _ type: RecordType, timeout: Double? = nil,
                       completion: @escaping @Sendable (DNSResult) -> Void) {
        guard !stopped.withLockedValue({ $0 }) else { return completion(.failed("resolver stopped")) }
        if let kept = cached(name, type) { return completion(kept) }
        let entry = Pending(name: name, type: type, completion: completion, deadline: Self.now() + (timeout ?? configuration.timeout))
        let number = Self.nextNumber.withLockedValue { value -> Int in value += 1; return value }
        pending.withLockedValue { $0[number] = entry }
        counters.withLockedValue { $0.lookups += 1 }
        DNSResolver.registry.withLockedValue { $0[number] = Weak(self) }
        var id: Int32 = 0
        let code = ub_resolve_async(context, name, type.rawValue, 1, UnsafeMutableRawPointer(bitPattern: number), { data, error, result in
            DNSResolver.delivered(number: Int(bitPattern: data), error: error, result: result)
        }, &id)
        if code != 0 {
            DNSResolver.registry.withLockedValue { $0[number] = nil }
            if let entry = take(number) { entry.completion(.failed(String(cString: ub_strerror(code)))) }
            return
        }
        pending.withLockedValue { _ in entry.asyncID = id }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// A lookup function for checks that make many (SPF with its includes, DKIM keys, DMARC): each
    /// lookup gets its own deadline, cut short so all of them end within `budget` seconds; past it every
    /// lookup is `.timedOut` at once.
    public func budgeted(_ budget: Double) -> @Sendable (String, RecordType) async -> DNSResult {
        let end = Self.now() + budget
        return { [self] name, type in
            let remaining = end - Self.now()
            guard remaining > 0 else { return .timedOut }
            return await self.lookup(name, type, timeout: min(remaining, self.timeout))
        }
    }

    /// The answer `cache` keeps for `name`, counted as a lookup.
    private func cached(_ name: String, _ type: RecordType) -> DNSResult? {
        guard let kept = cache.answer(name, type, now: Self.now()) else { return nil }
        counters.withLockedValue { $0.lookups += 1; $0.cacheHits += 1 }
        return kept
    }

    /// `lookup` as an async function: an answer `cache` keeps returns without suspending.
    public func lookup(_ name: String, _ type: RecordType, timeout: Double? = nil) async -> DNSResult {
        if let kept = cached(name, type) { return kept }
        return await withCheckedContinuation { continuation in
            lookup(name, type, timeout: timeout) { continuation.resume(returning: $0) }
        }
    }

    /// Stops the thread; lookups still in flight complete with `.failed`.
    /// `shutdown()` from async code: it waits for the resolver's thread and libunbound's (joining
    /// them can take a while), so it runs on a thread of its own, never on Swift's cooperative pool.
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.shutdown()
                continuation.resume()
            }
        }
    }

    public func shutdown() {
        let already = stopped.withLockedValue { done -> Bool in
            let was = done
            done = true
            return was
        }
        guard !already else { return }
        var byte: UInt8 = 0
        _ = write(wake.write, &byte, 1)
        finished.wait()
        let left: [Int: Pending] = pending.withLockedValue { all in
            let left = all
            all = [:]
            return left
        }
        for entry in left.values { entry.completion(DNSResult.failed("resolver stopped")) }
        ub_ctx_delete(context)
        close(wake.read)
        close(wake.write)
    }

    // MARK: The resolver's thread

    private func run() {
        let fd = ub_fd(context)
        while !stopped.withLockedValue({ $0 }) {
            let next = pending.withLockedValue { $0.values.map(\.deadline).min() }
            let wait = next.map { max(0, Int32(($0 - Self.now()) * 1000) + 1) } ?? 1000
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 2, min(wait, 1000))
            if fds[1].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                while read(wake.read, &buffer, buffer.count) > 0 {}
            }
            if fds[0].revents != 0 { _ = ub_process(context) }
            expire()
        }
        finished.signal()
    }

    /// Lookups past their deadline are cancelled in libunbound and answered `.timedOut`.
    private func expire() {
        let now = Self.now()
        let late = pending.withLockedValue { all -> [(Int, Pending, Int32)] in
            let late = all.filter { $0.value.deadline <= now }
            for (number, _) in late { all[number] = nil }
            return late.map { ($0.key, $0.value, $0.value.asyncID) }
        }
        for (number, entry, asyncID) in late {
            _ = ub_cancel(context, asyncID)
            DNSResolver.registry.withLockedValue { $0[number] = nil }
            counters.withLockedValue { $0.timeouts += 1 }
            entry.completion(.timedOut)
        }
    }

    private func take(_ number: Int) -> Pending? {
        pending.withLockedValue { all in all.removeValue(forKey: number) }
    }

    /// Which resolver a callback's number belongs to (the C callback carries only the number).
    private struct Weak { weak var resolver: DNSResolver?; init(_ resolver: DNSResolver) { self.resolver = resolver } }
    private static let registry = NIOLockedValueBox<[Int: Weak]>([:])

    private static func delivered(number: Int, error: Int32, result: UnsafeMutablePointer<ub_result>?) {
        defer { if let result { ub_resolve_free(result) } }
        guard let resolver = registry.withLockedValue({ $0.removeValue(forKey: number)?.resolver }),
              let entry = resolver.take(number) else { return } // timed out or cancelled meanwhile
        let answer = Self.result(error: error, result: result)
        if let result { resolver.cache.store(answer, ttl: Int(result.pointee.ttl), for: entry.name, entry.type, now: now()) }
        entry.completion(answer)
    }

    static func result(error: Int32, result: UnsafeMutablePointer<ub_result>?) -> DNSResult {
        guard error == 0, let result else { return .failed(String(cString: ub_strerror(error))) }
        let answer = result.pointee
        if answer.bogus != 0 { return .serverFailure(2) }
        if answer.nxdomain != 0 { return .nxdomain }
        if answer.rcode != 0 { return .serverFailure(Int(answer.rcode)) }
        guard answer.havedata != 0, let data = answer.data, let lengths = answer.len else { return .noData }
        var records: [[UInt8]] = []
        var index = 0
        while let pointer = data[index] {
            let count = Int(lengths[index])
            records.append(Array(UnsafeRawBufferPointer(start: pointer, count: count)).map { $0 })
            index += 1
        }
        return .answer(records, ttl: Int(answer.ttl))
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
