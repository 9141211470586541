import NIOCore
import SluiceSMTP
import SluiceSession
import SluiceTLS

/// The events an upstream connection delivers to its session.
protocol UpstreamDelegate: AnyObject {
    func upstreamReplied(_ reply: SMTPReply)
    func upstreamFailed(_ failure: UpstreamFailure)
    func upstreamTLSEstablished(_ handshake: TLSHandshakeCompleted)
}

/// Frames the upstream's replies and hands them to the session, on the session's event loop.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Strong, not weak: a weak reference gives the session handler a side table, which makes every
    /// retain and release of it take the slow path. The cycle (session → upstream channel → this handler
    /// → session) ends when the upstream channel closes, which every session end does.
    private var delegate: (any UpstreamDelegate)?
    private var parser = ReplyParser()
    private var buffer = ByteBuffer()
    private var failed = false

    private let registry: SessionRegistry?

    init(delegate: any UpstreamDelegate, registry: SessionRegistry? = nil) {
        self.delegate = delegate
        self.registry = registry
        registry?.upstreamsAlive.add(1, ordering: .relaxed)
    }

    deinit {
        registry?.upstreamsAlive.subtract(1, ordering: .relaxed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.appendRead(&incoming)
        do {
            while !failed, let reply = try parser.next(from: &buffer) {
                delegate?.upstreamReplied(reply)
            }
            buffer.settleAfterParsing(allocator: context.channel.allocator)
        } catch {
            fail(.protocolError("\(error)"), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            delegate?.upstreamTLSEstablished(handshake)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        delegate = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.closed, context: context)
    }

    private func fail(_ failure: UpstreamFailure, context: ChannelHandlerContext) {
        guard !failed else { return }
        failed = true
        delegate?.upstreamFailed(failure)
        context.close(promise: nil)
    }
}
