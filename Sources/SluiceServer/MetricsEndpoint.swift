import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import SluiceSMTP

/// `metrics listen ADDR`: a small HTTP/1.1 responder on SwiftNIO's own HTTP/1 codec (no web framework:
/// three fixed GET paths do not justify one). `/metrics` is the Prometheus text of the registry,
/// `/healthz` says the process is up, `/readyz` runs the readiness checks and answers 200 or 503 with
/// what failed.
public final class MetricsEndpoint: Sendable {
    /// What `/readyz` checks; an empty answer is ready, else each line names a failed check.
    public typealias Readiness = @Sendable () async -> [String]

    let channel: Channel

    private init(channel: Channel) {
        self.channel = channel
    }

    /// Binds `endpoint` (on NIO's shared loops: the endpoint outlives the relay's own while it drains).
    /// Throws `ServerError.cannotListen`.
    public static func start(at endpoint: Endpoint, registry: PrometheusCollectorRegistry,
                             readiness: @escaping Readiness, logger: Logger) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry, readiness: readiness))
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get()
        } catch {
            throw ServerError.cannotListen(endpoint, RelayServer.reason(error))
        }
        let address = channel.localAddress
        logger.info("metrics on http://\(address?.ipAddress ?? endpoint.host):\(address?.port ?? endpoint.port)/metrics")
        return MetricsEndpoint(channel: channel)
    }

    public var boundAddress: SocketAddress? { channel.localAddress }

    public func close() async {
        try? await channel.close()
    }
}

/// One request at a time per connection (no pipelining needed by scrapers), answered and kept alive.
private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let readiness: MetricsEndpoint.Readiness
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, readiness: @escaping MetricsEndpoint.Readiness) {
        self.registry = registry
        self.readiness = readiness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET || head.method == .HEAD else {
            return write(.methodNotAllowed, "only GET\n", head: head, context: context)
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/metrics":
            var body = context.channel.allocator.buffer(capacity: 16384)
            body.writeBytes(registry.emitToBuffer())
            write(.ok, body, contentType: "text/plain; version=0.0.4; charset=utf-8", head: head, context: context)
        case "/healthz":
            write(.ok, "ok\n", head: head, context: context)
        case "/readyz":
            let readiness = self.readiness
            let answer = context.eventLoop.makeFutureWithTask { await readiness() }
            answer.assumeIsolated().whenSuccess { failures in
                if failures.isEmpty {
                    self.write(.ok, "ready\n", head: head, context: context)
                } else {
                    self.write(.serviceUnavailable, failures.map { "not ready: \($0)\n" }.joined(), head: head, context: context)
                }
            }
        default:
            write(.notFound, "not found (try /metrics, /healthz, /readyz)\n", head: head, context: context)
        }
    }

    private func write(_ status: HTTPResponseStatus, _ text: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        write(status, context.channel.allocator.buffer(string: text), contentType: "text/plain; charset=utf-8", head: head, context: context)
    }

    private func write(_ status: HTTPResponseStatus, _ body: ByteBuffer, contentType: String, head: HTTPRequestHead,
                       context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
