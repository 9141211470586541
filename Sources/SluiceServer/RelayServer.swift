import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceDNS
import Prometheus
import SluiceSMTP
import SluiceSession
import SluiceTLS

/// A user-visible failure to start: one clear sentence, no stack trace.
public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(Endpoint, String)
    case spoolDirectory(String, String)
    case cannotResolveUpstream(Endpoint, String)
    case tlsNotConfigured(Endpoint)
    case configuration(String)

    public var description: String {
        switch self {
        case .cannotListen(let endpoint, let reason): return "cannot listen on \(endpoint): \(reason)"
        case .spoolDirectory(let path, let reason): return "spool directory \(path): \(reason)"
        case .cannotResolveUpstream(let endpoint, let reason): return "cannot resolve upstream \(endpoint): \(reason)"
        case .tlsNotConfigured(let endpoint): return "listen \(endpoint) tls needs 'tls certificate FILE key FILE'"
        case .configuration(let message): return message
        }
    }
}

/// A running Sluice: its listeners, its event loops and its open sessions.
public final class RelayServer: Sendable {
    public let configuration: ServerConfiguration
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let resolver: DNSResolver
    private let listeners: ListenerSet
    private let registry: SessionRegistry
    private let logger: Logger
    private let settings: NIOLockedValueBox<ServerConfiguration>
    private let metrics: ServerMetrics
    /// The Prometheus registry behind `metrics listen` (nil: metrics are not collected).
    public let metricsRegistry: PrometheusCollectorRegistry?
    private let upstreamAddress: SocketAddress
    private let stopping: NIOLockedValueBox<Bool>

    /// Binds every listener and starts accepting. Throws `ServerError` when an address cannot be bound.
    public static func start(configuration: ServerConfiguration, logger: Logger) async throws -> RelayServer {
        try checkSpoolDirectory(configuration.spoolDirectory)
        let upstreamAddress: SocketAddress
        do {
            upstreamAddress = try SocketAddress.makeAddressResolvingHost(configuration.upstream.host, port: configuration.upstream.port)
        } catch {
            throw ServerError.cannotResolveUpstream(configuration.upstream, Self.reason(error))
        }
        try checkListeners(configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        // The DNS: libunbound on a thread of its own, each lookup with its own deadline.
        let resolver: DNSResolver
        do {
            resolver = try DNSResolver(configuration: DNSResolver.Configuration(servers: configuration.dnsServers, timeout: configuration.dnsTimeout,
                                                                         systemHosts: configuration.dnsServers.isEmpty))
        } catch {
            try? await pool.shutdownGracefully()
            throw ServerError.configuration("dns: \(error)")
        }
        let registry = SessionRegistry()
        let settings = NIOLockedValueBox(configuration)
        let clocks = SessionClocks(group: group, clock: configuration.deadlineClock) {
            let current = settings.withLockedValue { $0 }
            return SessionClock.interval(for: [current.limits.idleTimeout, current.limits.commandTime, current.upstreamTimeouts.connect,
                                               current.upstreamTimeouts.command, current.upstreamTimeouts.endOfData])
        }
        // Metrics are collected only when they are served: without `metrics listen`, every handle is
        // swift-metrics' no-op one.
        let prometheus = configuration.metricsListen.map { _ in PrometheusCollectorRegistry() }
        let metrics = ServerMetrics(factory: prometheus.map { Self.metricsFactory($0) } ?? MetricsSystem.factory)
        let environment = SessionEnvironment(
            settings: settings,
            upstreamConnector: SocketUpstreamConnector(address: upstreamAddress),
            pool: pool, resolver: resolver, registry: registry, limiter: ConnectionLimiter(), clocks: clocks, metrics: metrics, logger: logger,
            greylistStore: configuration.greylistStore, clock: configuration.clock, deadlineClock: configuration.deadlineClock)
        let listeners = ListenerSet(group: group, environment: environment, logger: logger)
        let stopping = NIOLockedValueBox(false)
        do {
            for endpoint in configuration.listen { try await listeners.open(endpoint) }
        } catch {
            await listeners.closeAll()
            try? await pool.shutdownGracefully()
            resolver.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        let server = RelayServer(configuration: configuration, group: group, pool: pool, resolver: resolver, listeners: listeners,
                                 registry: registry, logger: logger, settings: environment.settings, metrics: metrics,
                                 prometheus: prometheus, upstreamAddress: upstreamAddress, stopping: stopping)
        if let store = configuration.greylistStore {
            // Keys not retried in time and passed keys past expiry are removed every 10 minutes
            // (with PostgreSQL, by whichever node holds the advisory lock).
            let settings = configuration.greylist, clock = configuration.clock
            group.next().scheduleRepeatedTask(initialDelay: .minutes(1), delay: .minutes(10)) { _ in
                Task {
                    do {
                        let removed = try await store.expire(now: clock(), settings: settings)
                        if removed > 0 { logger.info("greylist: removed \(removed) expired key(s)") }
                    } catch {
                        logger.warning("greylist: expiry failed: \(error)")
                    }
                }
            }
        }
        // libmagic's database loads here, at start-up, not with the first message.
        if configuration.ruleSet.hasContentRules, SharedSniffer.instance == nil {
            logger.error("libmagic did not start (is libmagic-mgc installed?): every attachment's attachment.magic is 'data'")
        }
        logger.info("relaying to \(configuration.upstream)")
        return server
    }

    private init(configuration: ServerConfiguration, group: MultiThreadedEventLoopGroup, pool: NIOThreadPool, resolver: DNSResolver,
                 listeners: ListenerSet, registry: SessionRegistry, logger: Logger, settings: NIOLockedValueBox<ServerConfiguration>,
                 metrics: ServerMetrics, prometheus: PrometheusCollectorRegistry?, upstreamAddress: SocketAddress,
                 stopping: NIOLockedValueBox<Bool>) {
        self.settings = settings
        self.configuration = configuration
        self.group = group
        self.pool = pool
        self.resolver = resolver
        self.listeners = listeners
        self.registry = registry
        self.logger = logger
        self.metrics = metrics
        self.metricsRegistry = prometheus
        self.upstreamAddress = upstreamAddress
        self.stopping = stopping
    }

    /// The Prometheus factory, with histogram buckets for SMTP latencies (1 ms to 60 s).
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
                                                   .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
                                                   .seconds(10), .seconds(30), .seconds(60)]
        return factory
    }

    /// The addresses actually bound (port 0 resolved).
    public var boundAddresses: [SocketAddress] { listeners.boundAddresses }
    /// What /readyz reports: empty when ready, else what failed.
    public func readiness() async -> [String] {
        await Readiness(listeners: listeners, stopping: stopping, upstream: upstreamAddress, group: MultiThreadedEventLoopGroup.singleton,
                        store: configuration.greylistStore, clock: configuration.clock).check()
    }

    /// Client reads start at 16 KiB (NIO's default is 2 KiB, grown read by read in every new
    /// session): a 10 KiB message arrives in one read. It is what an idle session holds.
    static let clientReadAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 16384, maximum: 65536)

    /// Replaces rules, lists, limits, timeouts, the hostname and the listen lines for sessions that begin
    /// from now on (sessions already open keep what they started with): a new `listen` line is bound,
    /// one that went is closed. The upstream, the spool directory, the threads and the metrics address
    /// need a restart. Throws (and changes nothing) when a listen line needs TLS that is not configured.
    public func reload(_ configuration: ServerConfiguration) async throws {
        try Self.checkListeners(configuration)
        var next = configuration
        let current = settings.withLockedValue { $0 }
        next.upstream = current.upstream
        next.spoolDirectory = current.spoolDirectory
        next.threads = current.threads
        next.metricsListen = current.metricsListen
        settings.withLockedValue { $0 = next }
        for (_, error) in await listeners.reconcile(with: next.listen) {
            logger.error("reload: \(error); the other listeners and settings apply")
        }
        metrics.reloaded(true)
        logger.info("reloaded: \(next.ruleSet.rules.values.joined().count) rule(s)")
    }

    /// A reload the configuration's errors refused: counted (`sluice_reloads_total{outcome="refused"}`).
    public func reloadRefused() {
        metrics.reloaded(false)
    }

    /// Open client sessions right now.
    public var openSessions: Int { registry.count }
    /// Open client sessions whose socket has Nagle's algorithm off (TCP_NODELAY), so a reply is never held
    /// back waiting for an acknowledgement. Accepted sockets inherit it from the listener; tests check it.
    public func openSessionsWithNoDelay() async -> Int {
        var count = 0
        for channel in registry.all {
            if let value = try? await channel.getOption(.tcpOption(.tcp_nodelay)).get(), value != 0 { count += 1 }
        }
        return count
    }

    /// Session handlers still in memory (open sessions, plus any not yet freed after closing).
    public var sessionHandlersAlive: Int { registry.handlersAlive.load(ordering: .relaxed) }
    /// Message spools still in memory (each holds message memory or an open spool file).
    public var spoolsAlive: Int { registry.spoolsAlive.load(ordering: .relaxed) }
    /// Upstream connection handlers still in memory.
    public var upstreamConnectionsAlive: Int { registry.upstreamsAlive.load(ordering: .relaxed) }

    /// Stops accepting, lets open sessions finish for `grace` seconds, then tells the rest
    /// `421 4.3.2` (a session waiting on the upstream gets its reply first) and stops.
    public func shutdown(grace: Double? = nil, closingStore: Bool = true) async {
        let grace = grace ?? configuration.shutdownGrace
        stopping.withLockedValue { $0 = true }
        await listeners.closeAll()
        logger.info("stopping: no new connections; \(registry.count) open session(s), grace \(grace)s")
        let deadline = NIODeadline.now() + .nanoseconds(Int64(grace * 1e9))
        while registry.count > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        if registry.count > 0 {
            logger.info("grace period over: closing \(registry.count) session(s) with 421")
            registry.requestShutdown()
            // Sessions waiting on the upstream finish that exchange first, within its own timeouts.
            let hardDeadline = NIODeadline.now() + .nanoseconds(Int64(configuration.upstreamTimeouts.endOfData * 1e9))
            while registry.count > 0, NIODeadline.now() < hardDeadline {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        // The pools first: work still running there (a slow reverse lookup, a spool file being closed)
        // completes its future on an event loop, which must still be there to take it.
        try? await pool.shutdownGracefully()
        // The resolver's completions hop to the loops: it stops first.
        await resolver.stop()
        try? await group.shutdownGracefully()
        if closingStore { await configuration.greylistStore?.close() }
        logger.info("stopped")
    }

    private static func checkSpoolDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServerError.spoolDirectory(path, "does not exist or is not a directory")
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw ServerError.spoolDirectory(path, "is not writable") }
    }

    /// Every listener that says `tls` needs the TLS settings.
    private static func checkListeners(_ configuration: ServerConfiguration) throws {
        if let endpoint = configuration.listen.first(where: configuration.implicitTLS.contains), configuration.tls == nil {
            throw ServerError.tlsNotConfigured(endpoint)
        }
    }

    static func reason(_ error: Error) -> String {
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}
