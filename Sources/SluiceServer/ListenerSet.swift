import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceSMTP
import SluiceTLS

/// The server's listening sockets, one per `listen` line. A reload binds the lines that are new and
/// closes those that went (sessions already accepted on a closed listener go on). What a listener does
/// with a new connection (implicit TLS, TLS required, PROXY protocol) is read from the settings in force
/// when the connection arrives, so a reload changes it for the next client.
final class ListenerSet: Sendable {
    private let channels = NIOLockedValueBox<[(Endpoint, Channel)]>([])
    private let group: MultiThreadedEventLoopGroup
    private let environment: SessionEnvironment
    private let logger: Logger

    init(group: MultiThreadedEventLoopGroup, environment: SessionEnvironment, logger: Logger) {
        self.group = group
        self.environment = environment
        self.logger = logger
    }

    /// The endpoints listened on, in `listen` order.
    var endpoints: [Endpoint] { channels.withLockedValue { $0.map(\.0) } }
    /// The addresses bound (port 0 resolved).
    var boundAddresses: [SocketAddress] { channels.withLockedValue { $0.compactMap(\.1.localAddress) } }
    var isEmpty: Bool { channels.withLockedValue { $0.isEmpty } }

    /// Binds `endpoint`. Throws `ServerError.cannotListen`.
    func open(_ endpoint: Endpoint) async throws {
        let environment = self.environment, logger = self.logger
        let name = "\(endpoint)" // once per listener, not per connection
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
                    try channel.syncOptions?.setOption(.recvAllocator, value: RelayServer.clientReadAllocator)
                    let listener = environment.settings.withLockedValue { ListenerOptions(endpoint, name: name, in: $0) }
                    let eventLoop = channel.eventLoop
                    let makeSession: ProxyProtocolHandler.SessionFactory = { client in
                        let handler = SessionHandler(environment: environment, eventLoop: eventLoop, remoteAddress: client,
                                                     listener: listener)
                        if listener.implicitTLS, let tls = handler.tlsContext { return [try TLSHandler(context: tls), handler] }
                        return [handler]
                    }
                    if let balancers = listener.proxyFrom {
                        try channel.pipeline.syncOperations.addHandler(
                            ProxyProtocolHandler(balancers: balancers, logger: logger, metrics: environment.metrics,
                                                 makeSession: makeSession))
                    } else {
                        try channel.pipeline.syncOperations.addHandlers(try makeSession(channel.remoteAddress))
                    }
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get()
        } catch {
            throw ServerError.cannotListen(endpoint, RelayServer.reason(error))
        }
        channels.withLockedValue { $0.append((endpoint, channel)) }
        let address = channel.localAddress
        let host = address?.ipAddress.map { address?.protocol == .inet6 ? "[\($0)]" : $0 } ?? endpoint.host
        logger.info("listening on \(host):\(address?.port ?? endpoint.port)")
    }

    /// Stops accepting on `endpoint`.
    func close(_ endpoint: Endpoint) async {
        let closing = channels.withLockedValue { channels -> [Channel] in
            let closing = channels.filter { $0.0 == endpoint }.map(\.1)
            channels.removeAll { $0.0 == endpoint }
            return closing
        }
        for channel in closing {
            try? await channel.close()
            logger.info("stopped listening on \(endpoint)")
        }
    }

    func closeAll() async {
        for endpoint in endpoints { await close(endpoint) }
    }

    /// Opens what `wanted` adds and closes what it drops; returns the endpoints that could not be bound.
    func reconcile(with wanted: [Endpoint]) async -> [(Endpoint, ServerError)] {
        let current = endpoints
        var failures: [(Endpoint, ServerError)] = []
        for endpoint in wanted where !current.contains(endpoint) {
            do { try await open(endpoint) } catch let error as ServerError { failures.append((endpoint, error)) } catch {}
        }
        for endpoint in current where !wanted.contains(endpoint) {
            await close(endpoint)
        }
        return failures
    }
}

extension ListenerOptions {
    /// What the listen line for `endpoint` says in `configuration`.
    init(_ endpoint: Endpoint, name: String, in configuration: ServerConfiguration) {
        self.init(implicitTLS: !configuration.implicitTLS.isEmpty && configuration.implicitTLS.contains(endpoint),
                  tlsRequired: configuration.tlsRequiredEverywhere || (!configuration.tlsRequiredOn.isEmpty && configuration.tlsRequiredOn.contains(endpoint)),
                  proxyFrom: configuration.proxyProtocol.isEmpty ? nil : configuration.proxyProtocol[endpoint], name: name)
    }
}
