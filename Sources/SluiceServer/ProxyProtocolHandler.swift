import Logging
import NIOCore
import SluicePolicy
import SluiceSMTP

/// First in the pipeline of a `listen … proxy-protocol from LIST` listener. It takes the PROXY header
/// (v1 or v2, however it is split across reads) from a listed balancer, then puts the session (and TLS,
/// on an implicit-TLS listener) behind itself with the client address the balancer reported, hands it
/// what followed the header, and steps aside. A connection from an unlisted source, or without a valid
/// header within 10 seconds, is logged and closed before any greeting.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The handlers of the session for this client address.
    typealias SessionFactory = (SocketAddress?) throws -> [ChannelHandler]

    private let balancers: [CIDR]
    private let makeSession: SessionFactory
    private let logger: Logger
    private var buffer = ByteBuffer()
    private var timeout: Scheduled<Void>?
    private var finished = false

    static let headerTime = TimeAmount.seconds(10)

    private let metrics: ServerMetrics?

    init(balancers: [CIDR], logger: Logger, metrics: ServerMetrics? = nil, makeSession: @escaping SessionFactory) {
        self.metrics = metrics
        self.balancers = balancers
        self.logger = logger
        self.makeSession = makeSession
    }

    func channelActive(context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress
        guard let text = peer?.ipAddress, let ip = IPAddress(text), balancers.contains(where: { $0.contains(ip) }) else {
            return refuse(context, "PROXY header expected from a listed balancer, connection from [\(peer?.ipAddress ?? "unknown")]")
        }
        let channel = context.channel
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: Self.headerTime) {
            self.refuse(context, "no PROXY header within \(Self.headerTime.nanoseconds / 1_000_000_000)s from [\(text)]")
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return context.fireChannelRead(data) }
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        switch ProxyHeaderParser.parse(buffer) {
        case .needMore:
            return
        case .invalid(let reason):
            refuse(context, "\(reason) from [\(context.channel.remoteAddress?.ipAddress ?? "unknown")]")
        case .header(let header, let length):
            finished = true
            timeout?.cancel()
            buffer.moveReaderIndex(forwardBy: length)
            var client = context.channel.remoteAddress
            if let source = header.source {
                do {
                    client = try SocketAddress(ipAddress: source.address, port: source.port)
                } catch {
                    return refuse(context, "PROXY header with an unusable address \(source.address)")
                }
            }
            do {
                try context.pipeline.syncOperations.addHandlers(try makeSession(client), position: .after(self))
            } catch {
                return refuse(context, "cannot start the session: \(error)")
            }
            let rest = buffer
            buffer = ByteBuffer()
            if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        context.fireChannelInactive()
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        logger.warning("refused connection on a proxy-protocol listener: \(reason)")
        metrics?.connectionRefused(.proxy)
        context.close(promise: nil)
    }
}
