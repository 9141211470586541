import Foundation
import Logging
import NIOCore
import SluiceSMTP
import SluiceSession
import SluiceTLS

/// The events an upstream connection delivers to its client session.
protocol UpstreamDelegate: AnyObject {
    func upstreamReplied(_ reply: SMTPReply)
    func upstreamFailed(_ failure: UpstreamFailure)
}

/// The one place that writes bytes to the upstream: a thin handler over `UpstreamSession`. It frames
/// the upstream's replies, feeds them to the state machine and carries out what it returns: command
/// lines, AUTH lines, the message read back from the spool, QUIT, Sluice's own STARTTLS.
final class UpstreamConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var session: UpstreamSession
    private var parser = ReplyParser()
    private var input = ByteBuffer()
    /// One buffer for every command line: written at once as a rule, so its storage comes back for reuse.
    private var output = ByteBuffer()
    private var context: ChannelHandlerContext?
    /// Strong, not weak: a weak reference gives the session handler a side table, which makes every
    /// retain and release of it take the slow path. The cycle (session handler → this → session
    /// handler) ends when the upstream channel goes (`handlerRemoved`) or the session closes it.
    private var delegate: (any UpstreamDelegate)?
    /// The spooled message being sent.
    private var source: MessageSpool?
    private let tls: TLSContext?
    private let logger: Logger
    private let sessionID: String
    private let registry: SessionRegistry?
    private let metrics: ServerMetrics?
    private let introductions: IntroductionCache?
    private let now: @Sendable () -> NIODeadline
    /// When the request now awaiting its reply went out (for `sluice_upstream_reply_seconds`).
    private var sentAt: NIODeadline?

    init(settings: UpstreamSession.Settings, tls: TLSContext?, delegate: any UpstreamDelegate, logger: Logger, sessionID: String,
         registry: SessionRegistry? = nil, metrics: ServerMetrics? = nil, introductions: IntroductionCache? = nil,
         now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.introductions = introductions
        self.session = UpstreamSession(settings: settings)
        self.tls = tls
        self.delegate = delegate
        self.logger = logger
        self.sessionID = sessionID
        self.registry = registry
        self.metrics = metrics
        self.now = now
        registry?.upstreamsAlive.add(1, ordering: .relaxed)
    }

    deinit {
        registry?.upstreamsAlive.subtract(1, ordering: .relaxed)
    }

    /// Opens the connection on `eventLoop` (the session's) through `connector`.
    func connect(via connector: any UpstreamConnector, on eventLoop: EventLoop) {
        session.connecting(now: now())
        connector.open(self, implicitTLS: session.settings.tlsMode == .tls ? tls : nil, timeout: session.settings.timeouts.connect,
                       on: eventLoop)
    }

    /// The connection came up; a session that ended meanwhile closes it at once.
    func opened(_ channel: Channel) {
        if !session.isUsable { channel.close(promise: nil) }
    }

    func openFailed(_ error: Error) {
        metrics?.upstreamConnectFailed()
        perform(session.connectionLost(.connectFailed("\(error)")))
    }

    // MARK: What the session handler asks

    /// Relays a request of the client session (with the spool, for the message).
    func relay(_ request: UpstreamSession.Request, source: MessageSpool? = nil) {
        if let source { self.source = source }
        perform(session.relay(request, now: now()))
    }

    /// The session clock looked: an overdue reply is a timeout.
    func tick(now: NIODeadline) {
        perform(session.tick(now: now))
    }

    /// The client session ended: QUIT if one is owed, then close. The delegate hears nothing more.
    func close() {
        delegate = nil
        source = nil
        perform(session.close())
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        session.connected()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        delegate = nil
        source = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        input.appendRead(&incoming)
        do {
            while session.isUsable, let reply = try parser.next(from: &input) {
                let received = now()
                if let sentAt, let metrics {
                    metrics.upstreamReplied(after: (received - sentAt).nanoseconds)
                    self.sentAt = nil
                }
                perform(session.received(reply, now: received))
            }
            input.settleAfterParsing(allocator: context.channel.allocator)
        } catch {
            perform(session.connectionLost(.protocolError("\(error)")))
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            logger.info("\(sessionID): upstream TLS established: \(handshake.version) with cipher \(handshake.cipher)")
            metrics?.tlsHandshake(.upstream, succeeded: true)
            perform(session.handshakeCompleted())
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(session.connectionLost(.closed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is TLSError { metrics?.tlsHandshake(.upstream, succeeded: false) }
        perform(session.connectionLost(.closed))
        context.close(promise: nil)
    }

    // MARK: Carrying out actions

    private func perform(_ actions: [UpstreamSession.Action]) {
        for action in actions {
            switch action {
            case .send(let command):
                output.clear()
                command.write(into: &output)
                output.writeStaticString("\r\n")
                sentAt = now()
                context?.writeAndFlush(NIOAny(output), promise: nil)
            case .sendAuthResponse(let line):
                guard let context else { continue }
                var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 2)
                buffer.writeString(line)
                buffer.writeStaticString("\r\n")
                sentAt = now()
                context.writeAndFlush(NIOAny(buffer), promise: nil)
            case .sendMessage(let plan):
                sendMessage(plan)
            case .startTLS:
                startTLS()
            case .deliver(let reply):
                delegate?.upstreamReplied(reply)
            case .fail(let failure):
                delegate?.upstreamFailed(failure)
            case .quit:
                quit()
            case .close:
                context?.close(promise: nil)
            case .learned(let support):
                introductions?.learned(support, logger: logger)
            }
        }
    }

    private func startTLS() {
        guard let context, let tls else {
            return perform(session.connectionLost(.protocolError("no upstream TLS context")) + [.close])
        }
        do {
            try context.pipeline.syncOperations.addHandler(TLSHandler(context: tls), position: .first)
        } catch {
            perform(session.connectionLost(.protocolError("upstream TLS: \(error)")) + [.close])
        }
    }

    /// A polite QUIT, but not an endless one: behind a message an upstream stopped reading, it would
    /// wait for ever, and the connection (and what it holds) with it. Like Postfix's smtp_quit_timeout,
    /// the command timeout bounds it.
    private func quit() {
        guard let context else { return }
        let channel = context.channel
        var quit = channel.allocator.buffer(capacity: 6)
        quit.writeStaticString("QUIT\r\n")
        let giveUp = channel.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(session.settings.timeouts.command * 1e9))) {
            channel.close(promise: nil)
        }
        context.writeAndFlush(NIOAny(quit)).assumeIsolated().whenComplete { _ in
            giveUp.cancel()
            channel.close(promise: nil)
        }
    }

    /// The plan's prefix, the spooled message chunk by chunk (each read once the last write went out),
    /// then the final dot. A message that cannot go out whole never gets its dot: the connection drops.
    private func sendMessage(_ plan: MessagePlan) {
        guard let context, let source else {
            return perform(session.connectionLost(.closed) + [.close])
        }
        var prefix = context.channel.allocator.buffer(capacity: 256)
        let skip = plan.writePrefix(date: Date(), into: &prefix)
        context.write(NIOAny(prefix), promise: nil)
        stream(source, from: min(skip, source.size), channel: context.channel)
    }

    private func stream(_ source: MessageSpool, from offset: Int, channel: Channel) {
        switch source.read(from: offset) {
        case .end:
            var dot = channel.allocator.buffer(capacity: 3)
            dot.writeStaticString(".\r\n")
            sentAt = now()
            channel.writeAndFlush(dot).assumeIsolated().whenFailure { self.messageFailed($0, channel) }
        case .ready(let chunk):
            channel.write(chunk, promise: nil)
            stream(source, from: offset + chunk.readableBytes, channel: channel)
        case .pending(let read):
            read.assumeIsolated().flatMap { chunk in
                channel.writeAndFlush(chunk).map { chunk.readableBytes }
            }.whenComplete { result in
                switch result {
                case .success(let count): self.stream(source, from: offset + count, channel: channel)
                case .failure(let error): self.messageFailed(error, channel)
                }
            }
        }
    }

    private func messageFailed(_ error: Error, _ channel: Channel) {
        logger.warning("\(sessionID): could not send message upstream: \(error)")
        channel.close(promise: nil)
    }
}
