import Foundation
import Logging
import NIOCore
import NIOPosix
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// The thin glue between one client connection, its `ClientSession` and its upstream connection:
/// it frames input, feeds the state machine and carries out the actions it returns.
/// What a listener asks of its sessions.
struct ListenerOptions: Sendable {
    var implicitTLS = false
    var tlsRequired = false
}

final class SessionHandler: ChannelDuplexHandler, UpstreamDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let environment: SessionEnvironment
    /// The settings in force when this session began (a reload applies to new sessions).
    let configuration: ServerConfiguration
    let sessionConfiguration: SessionConfiguration
    let listener: ListenerOptions
    /// `TLSv1.3 with cipher …` once the client's TLS handshake completed.
    var tlsInfo: String?
    /// Sluice's own STARTTLS with the upstream, before the greeting reaches the session.
    var negotiation: UpstreamTLSNegotiation
    var session: ClientSession
    let sessionID = SessionIdentifier.make()
    var logger: Logger
    /// The session's event loop: every timer and every off-loop result comes back here.
    let eventLoop: EventLoop
    /// Set while the handler is in the pipeline; dropped in `handlerRemoved`, because the context holds
    /// the handler and a handler that kept its context would never be freed.
    var context: ChannelHandlerContext?
    var allocator = ByteBufferAllocator()
    /// The client's address, as NIO cached it when the connection was accepted.
    let remoteAddress: SocketAddress?
    let clientAddress: String

    var input = ByteBuffer()
    var output = ByteBuffer()
    var upstreamOutput = ByteBuffer()
    var framer: CommandLineFramer
    var decoder: DataDecoder?
    var spool: MessageSpool?
    /// The header block as parsed for content rules (its edits replace it on the way upstream).
    var inspectedHeader: MessageHeader?

    var upstream: Channel?
    var upstreamUsable = true
    var quitSentUpstream = false
    /// When the upstream's reply is overdue (nil: nothing awaited). `SessionClock` checks it.
    var upstreamDeadline: NIODeadline?
    var lastClientActivity = NIODeadline.now()
    /// The command-line deadline and the minimum DATA rate; `lastTick` is when the clock last looked.
    var pace: ClientPace
    var lastTick = NIODeadline.now()
    var clock: SessionClock?
    /// This session's place in its clock's list.
    var clockSlot: Int?

    /// After the final dot, until the spool file has everything (what the client pipelined waits).
    var settlingSpool = false
    var pendingRead = false
    var processing = false
    var closed = false
    var messages = 0

    init(environment: SessionEnvironment, eventLoop: EventLoop, remoteAddress: SocketAddress?,
         listener: ListenerOptions = ListenerOptions()) {
        self.environment = environment
        self.eventLoop = eventLoop
        self.listener = listener
        self.remoteAddress = remoteAddress
        clientAddress = remoteAddress.map { $0.ipAddress ?? "\($0)" } ?? "unknown"
        (self.configuration, self.sessionConfiguration) = environment.settings.withLockedValue { $0 }
        self.session = ClientSession(configuration: sessionConfiguration, clientAddress: clientAddress,
                                     tlsActive: listener.implicitTLS, tlsRequired: listener.tlsRequired)
        self.negotiation = UpstreamTLSNegotiation(mode: configuration.upstreamTLS == nil ? .none : configuration.upstreamTLSMode,
                                                  hostname: configuration.hostname)
        self.framer = CommandLineFramer(maxLength: configuration.limits.commandLineLength)
        self.pace = ClientPace(commandTime: configuration.limits.commandTime, minimumDataRate: configuration.limits.minimumDataRate)
        self.logger = environment.logger
        environment.registry.handlersAlive.add(1, ordering: .relaxed)
    }

    deinit {
        environment.registry.handlersAlive.subtract(1, ordering: .relaxed)
    }

    var tlsContext: TLSContext? { configuration.tls }
    var limits: Limits { configuration.limits }
    var timeouts: UpstreamTimeouts { configuration.upstreamTimeouts }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        environment.registry.add(context.channel)
        logger.info("\(sessionID): connect from [\(clientAddress)]:\(remoteAddress?.port ?? 0)")
        clock = environment.clocks.clock(of: eventLoop)
        clock?.add(self)
        perform(session.start())
        flush()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        clock?.remove(self)
        spool?.release()
        spool = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(session.clientClosed())
        environment.registry.remove(context.channel)
        logger.info("\(sessionID): disconnect from [\(clientAddress)] messages=\(messages)")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        lastClientActivity = .now()
        guard !closed else { return }
        input.appendRead(&incoming)
        process()
    }

    func read(context: ChannelHandlerContext) {
        if isCongested {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            perform(session.shutdownRequested())
            flush()
        } else if let handshake = event as? TLSHandshakeCompleted {
            tlsInfo = "\(handshake.version) with cipher \(handshake.cipher)"
            logger.info("\(sessionID): TLS established: \(tlsInfo ?? "")")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is TLSError {
            logger.info("\(sessionID): TLS failed: \(error)")
        } else {
            logger.debug("\(sessionID): client connection error: \(error)")
        }
        context.close(promise: nil)
    }

    // MARK: Upstream events

    func upstreamReplied(_ reply: SMTPReply) {
        guard upstreamUsable else { return }
        upstreamDeadline = nil
        if negotiation.isActive { return negotiate(negotiation.replied(reply)) }
        perform(session.upstreamReplied(reply))
        process()
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        upstreamDeadline = nil
        // A closed session closed its upstream itself (after QUIT, as a rule): nothing waits to hear it.
        guard !closed else { return }
        if upstreamUsable {
            upstreamUsable = false
            upstream = nil
            logger.warning("\(sessionID): upstream \(configuration.upstream) failed: \(failure)")
        }
        // Also when the connection was already gone: whatever the session waits for now, it hears that
        // the upstream is lost (a second report changes nothing in the session).
        perform(session.upstreamFailed(failure))
        process()
    }

    func connectUpstream() {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let target = environment.upstreamAddress
        let implicitTLS = configuration.upstreamTLSMode == .tls ? configuration.upstreamTLS : nil
        armUpstreamTimer(after: timeouts.connect)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(timeouts.connect * 1000)))
            // ClientBootstrap sets TCP_NODELAY itself (`.tcpOption`; `.socketOption(.tcp_nodelay)` would be SO_DEBUG).
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = bound.value
                    if let implicitTLS { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: implicitTLS)) }
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(delegate: handler, registry: handler.environment.registry))
                    handler.upstream = channel
                }
            }
            .connect(to: target)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    if self.closed { channel.close(promise: nil) }
                case .failure(let error):
                    self.upstreamFailed(.connectFailed("\(error)"))
                }
            }
    }

    // MARK: Processing client input

    /// Feeds buffered input to the session for as long as it can take it.
    func process() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        loop: while !closed {
            switch session.inputMode {
            case .none:
                break loop
            case .command:
                guard let event = framer.next(from: &input) else { break loop }
                pace.lineReceived()
                switch event {
                case .line(let line):
                    do {
                        let command = try CommandParser.parse(line.readableBytesView)
                        logger.trace("\(sessionID): <<< \(command.verb)")
                        perform(session.received(command))
                    } catch {
                        perform(session.receivedInvalid(error))
                    }
                case .fault(let fault):
                    perform(session.receivedFault(fault))
                }
            case .authResponse:
                guard let event = framer.next(from: &input) else { break loop }
                pace.lineReceived()
                switch event {
                case .line(let line): perform(session.receivedAuthResponse(String(buffer: line)))
                case .fault: perform(session.receivedAuthResponse("*")) // cancel the exchange (RFC 4954)
                }
            case .data:
                guard input.readableBytes > 0, !settlingSpool, var decoder, let spool else { break loop }
                let available = input.readableBytes
                let finished = spool.append(decoding: available) { decoder.decode(&input, into: &$0) }
                self.decoder = decoder
                pace.received(dataOctets: available - input.readableBytes)
                if finished {
                    pace.lineReceived()
                    finishData(decoder, spool: spool)
                }
            }
        }
        input.settleAfterParsing(allocator: allocator)
        flush()
        resumeReadingIfPossible()
    }

    var isCongested: Bool {
        input.readableBytes >= limits.inputBuffer || (spool?.isCongested ?? false)
    }

    func resumeReadingIfPossible() {
        guard pendingRead, !isCongested, !closed else { return }
        pendingRead = false
        context?.read()
    }

    // MARK: Carrying out actions

    func perform(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                logger.trace("\(sessionID): >>> \(reply)")
                reply.write(into: &output)
            case .forward(let command, let wait):
                guard upstream != nil else { upstreamFailed(.closed); continue }
                sendUpstream(command)
                armUpstreamTimer(after: wait == .command ? timeouts.command : timeouts.endOfData)
            case .forwardAuthResponse(let line):
                guard let upstream else { upstreamFailed(.closed); continue }
                var buffer = upstream.allocator.buffer(capacity: line.utf8.count + 2)
                buffer.writeString(line + "\r\n")
                upstream.writeAndFlush(buffer, promise: nil)
                armUpstreamTimer(after: timeouts.command)
            case .receiveData:
                pace.dataStarted()
                decoder = DataDecoder(maxLineLength: limits.dataLineLength, maxSize: session.messageSizeLimit,
                                      policy: configuration.bareLineEndings)
                let spool = MessageSpool(directory: configuration.spoolDirectory,
                                         threshold: limits.memorySpoolThreshold,
                                         inspectionLimit: 256 * 1024 + configuration.bodyInspection,
                                         pool: environment.pool,
                                         eventLoop: eventLoop, allocator: allocator, registry: environment.registry)
                // A spool write can complete on the thread pool after the client is gone. The closure holds
                // this handler (strongly: a weak reference would give it a side table, and every retain and
                // release the slow path) until `release()` drops it, which every end of a message and of
                // the session calls (`close()`, `.discardMessage`, `handlerRemoved`): never a dangling call.
                spool.onDrained = { self.resumeReadingIfPossible() }
                self.spool = spool
            case .connectUpstream:
                connectUpstream()
            case .startTLS:
                startTLS()
            case .resolveClientName:
                resolveClientName()
            case .checkGreylist(let keys):
                checkGreylist(keys)
            case .inspectContent(let facts):
                inspectContent(facts)
            case .sendMessage(let greeting, let transaction, let edits):
                sendMessage(greeting: greeting, transaction: transaction, edits: edits)
            case .discardMessage:
                spool?.release()
                spool = nil
                decoder = nil
                inspectedHeader = nil
            case .policy(let notes):
                for note in notes { logPolicy(note) }
            case .outcome(let outcome):
                logOutcome(outcome)
            case .close:
                close()
            }
        }
    }

    func flush() {
        guard output.readableBytes > 0, let context else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        // Usually written at once: the storage is ours again and is reused (else copy-on-write).
        output.clear()
    }

    func sendUpstream(_ command: SMTPCommand) {
        guard let upstream else { return }
        if command == .quit { quitSentUpstream = true }
        // One buffer for every command: written at once as a rule, so its storage comes back for reuse.
        upstreamOutput.clear()
        command.write(into: &upstreamOutput)
        upstreamOutput.writeStaticString("\r\n")
        upstream.writeAndFlush(upstreamOutput, promise: nil)
    }
}
