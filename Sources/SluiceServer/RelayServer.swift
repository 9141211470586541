import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
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
    /// The addresses actually bound (port 0 resolved).
    public let boundAddresses: [SocketAddress]
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let lookupPool: NIOThreadPool
    private let listeners: [Channel]
    private let registry: SessionRegistry
    private let logger: Logger
    private let settings: NIOLockedValueBox<ServerConfiguration>

    /// Binds every listener and starts accepting. Throws `ServerError` when an address cannot be bound.
    public static func start(configuration: ServerConfiguration, logger: Logger) async throws -> RelayServer {
        try checkSpoolDirectory(configuration.spoolDirectory)
        let upstreamAddress: SocketAddress
        do {
            upstreamAddress = try SocketAddress.makeAddressResolvingHost(configuration.upstream.host, port: configuration.upstream.port)
        } catch {
            throw ServerError.cannotResolveUpstream(configuration.upstream, Self.reason(error))
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        // Blocking lookups (getnameinfo) wait on the network for seconds: a pool of their own, so two
        // slow answers never hold up a spool write or a content scan.
        let lookupPool = NIOThreadPool(numberOfThreads: 4)
        lookupPool.start()
        let registry = SessionRegistry()
        let settings = NIOLockedValueBox(configuration)
        let clocks = SessionClocks(group: group, clock: configuration.deadlineClock) {
            let current = settings.withLockedValue { $0 }
            return SessionClock.interval(for: [current.limits.idleTimeout, current.limits.commandTime, current.upstreamTimeouts.connect,
                                               current.upstreamTimeouts.command, current.upstreamTimeouts.endOfData])
        }
        let environment = SessionEnvironment(
            settings: settings,
            upstreamConnector: SocketUpstreamConnector(address: upstreamAddress),
            pool: pool, lookupPool: lookupPool, registry: registry, limiter: ConnectionLimiter(), clocks: clocks, metrics: ServerMetrics(), logger: logger,
            greylistStore: configuration.greylistStore, clock: configuration.clock, deadlineClock: configuration.deadlineClock)
        if !configuration.implicitTLS.isEmpty && configuration.tls == nil {
            throw ServerError.tlsNotConfigured(configuration.implicitTLS.first!)
        }
        var listeners: [Channel] = []
        do {
            for endpoint in configuration.listen {
                let listener = ListenerOptions(implicitTLS: configuration.implicitTLS.contains(endpoint),
                                               tlsRequired: configuration.tlsRequiredEverywhere || configuration.tlsRequiredOn.contains(endpoint),
                                               proxyFrom: configuration.proxyProtocol[endpoint])
                let bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 1024)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    // An accept that fails (out of descriptors) is logged and accepting pauses for a second,
                    // instead of retrying the failing accept in a tight loop.
                    .serverChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(AcceptBackoff(logger: logger, endpoint: "\(endpoint)"))
                        }
                    }
                    // No child channel options: each one costs the accept path a future. Accepted sockets
                    // inherit TCP_NODELAY from the listener (NIO sets it there), NIO reads up to 4 times
                    // per readiness by default, and the read buffer is set synchronously below.
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.syncOptions?.setOption(.recvAllocator, value: Self.clientReadAllocator)
                            let eventLoop = channel.eventLoop
                            let makeSession: ProxyProtocolHandler.SessionFactory = { client in
                                let handler = SessionHandler(environment: environment, eventLoop: eventLoop, remoteAddress: client,
                                                             listener: listener)
                                if listener.implicitTLS, let tls = handler.tlsContext { return [try TLSHandler(context: tls), handler] }
                                return [handler]
                            }
                            if let balancers = listener.proxyFrom {
                                try channel.pipeline.syncOperations.addHandler(
                                    ProxyProtocolHandler(balancers: balancers, logger: logger, makeSession: makeSession))
                            } else {
                                try channel.pipeline.syncOperations.addHandlers(try makeSession(channel.remoteAddress))
                            }
                        }
                    }
                do {
                    listeners.append(try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get())
                } catch {
                    throw ServerError.cannotListen(endpoint, Self.reason(error))
                }
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            try? await pool.shutdownGracefully()
            try? await lookupPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
        let server = RelayServer(configuration: configuration, boundAddresses: listeners.compactMap(\.localAddress),
                                  group: group, pool: pool, lookupPool: lookupPool, listeners: listeners, registry: registry, logger: logger,
                                  settings: environment.settings)
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
        for address in server.boundAddresses {
            let host = address.ipAddress.map { address.protocol == .inet6 ? "[\($0)]" : $0 } ?? "\(address)"
            logger.info("listening on \(host):\(address.port ?? 0), relaying to \(configuration.upstream)")
        }
        return server
    }

    private init(configuration: ServerConfiguration, boundAddresses: [SocketAddress], group: MultiThreadedEventLoopGroup,
                 pool: NIOThreadPool, lookupPool: NIOThreadPool, listeners: [Channel], registry: SessionRegistry, logger: Logger,
                 settings: NIOLockedValueBox<ServerConfiguration>) {
        self.settings = settings
        self.configuration = configuration
        self.boundAddresses = boundAddresses
        self.group = group
        self.pool = pool
        self.lookupPool = lookupPool
        self.listeners = listeners
        self.registry = registry
        self.logger = logger
    }

    /// Client reads start at 16 KiB (NIO's default is 2 KiB, grown read by read in every new
    /// session): a 10 KiB message arrives in one read. It is what an idle session holds.
    static let clientReadAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 16384, maximum: 65536)

    /// Replaces rules, lists, limits, timeouts and the hostname for sessions that begin from now on
    /// (sessions already open keep what they started with). Listeners and the upstream need a restart.
    public func reload(_ configuration: ServerConfiguration) {
        var next = configuration
        let current = settings.withLockedValue { $0 }
        next.listen = current.listen
        next.upstream = current.upstream
        next.spoolDirectory = current.spoolDirectory
        next.threads = current.threads
        next.implicitTLS = current.implicitTLS
        next.tlsRequiredOn = current.tlsRequiredOn
        next.proxyProtocol = current.proxyProtocol
        settings.withLockedValue { $0 = next }
        logger.info("reloaded: \(next.ruleSet.rules.values.joined().count) rule(s)")
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
    public func shutdown(grace: Double? = nil) async {
        let grace = grace ?? configuration.shutdownGrace
        for listener in listeners { try? await listener.close() }
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
        try? await lookupPool.shutdownGracefully()
        try? await group.shutdownGracefully()
        await configuration.greylistStore?.close()
        logger.info("stopped")
    }

    private static func checkSpoolDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServerError.spoolDirectory(path, "does not exist or is not a directory")
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw ServerError.spoolDirectory(path, "is not writable") }
    }

    private static func reason(_ error: Error) -> String {
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}
