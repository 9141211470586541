import Logging
import NIOCore
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceTLS

/// What a listener asks of its sessions.
struct ListenerOptions: Sendable {
    var implicitTLS = false
    var tlsRequired = false
    /// `listen … proxy-protocol from LIST`: a PROXY header from one of these networks comes first.
    var proxyFrom: [CIDR]?
    /// The listen address, as the `listener` label of `sluice_sessions_opened_total`.
    var name = ""
}

/// The thin glue between one client connection and its `ClientSession`: it frames input, feeds the
/// state machine and carries out the actions it returns, handing policy requests to the
/// `PolicyPipeline`, message content to its `MessageReceiver` and upstream requests to the
/// `UpstreamConnection` (the only writer to the upstream).
final class SessionHandler: ChannelDuplexHandler, UpstreamDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the handler is doing with its input, beyond what the session's state says.
    struct Flow {
        /// NIO asked to read while Sluice was congested: read once it is not.
        var pendingRead = false
        /// Inside `process()` (which must not run re-entrantly).
        var processing = false
        /// After the final dot, until the spool file has everything (what the client pipelined waits).
        var settlingSpool = false
        var closed = false
        /// The connection limiter let this session in (it is released when the session ends).
        var admitted = false
        /// `limit greet-delay`: when the client may be greeted.
        var greetDeadline: NIODeadline?
        /// The session began (it is counted open until its connection goes).
        var began = false
        /// Why the session ended, once it did (the first reason given wins).
        var endReason: SessionEnd?
    }

    let environment: SessionEnvironment
    /// The settings in force when this session began (a reload applies to new sessions).
    let configuration: ServerConfiguration
    /// The policy steps for this session's requests (built once, from its settings).
    let pipeline: PolicyPipeline
    var session: ClientSession
    /// The session's event loop: every timer and every off-loop result comes back here.
    let eventLoop: EventLoop
    /// The listen address the client came in on (a metrics label).
    let listener: String
    /// Set while the handler is in the pipeline; dropped in `handlerRemoved`, because the context holds
    /// the handler and a handler that kept its context would never be freed.
    var context: ChannelHandlerContext?
    var input = ByteBuffer()
    var output = ByteBuffer()
    var framer: CommandLineFramer
    var receiver: MessageReceiver?
    var upstream: UpstreamConnection?
    /// The command-line deadline, the minimum DATA rate and the idle timeout.
    var pace: ClientPace
    /// This session's place in its clock's list.
    var clockSlot: Int?
    var flow = Flow()

    static let allocator = ByteBufferAllocator()

    init(environment: SessionEnvironment, eventLoop: EventLoop, remoteAddress: SocketAddress?,
         listener: ListenerOptions = ListenerOptions()) {
        self.environment = environment
        self.eventLoop = eventLoop
        self.listener = listener.name
        let configuration = environment.settings.withLockedValue { $0 }
        self.configuration = configuration
        pipeline = environment.pipeline(configuration)
        var client = ClientIdentity(address: remoteAddress.map { $0.ipAddress ?? "\($0)" } ?? "unknown", port: remoteAddress?.port,
                                    sessionID: SessionIdentifier.make())
        client.exempt = client.ip.map { ip in configuration.session.exempt.contains { $0.contains(ip) } } ?? false
        session = ClientSession(configuration: configuration.session, client: client,
                                tlsActive: listener.implicitTLS, tlsRequired: listener.tlsRequired)
        framer = CommandLineFramer(maxLength: configuration.limits.commandLineLength)
        let limits = configuration.limits
        pace = ClientPace(commandTime: limits.commandTime, minimumDataRate: limits.minimumDataRate, idleTimeout: limits.idleTimeout,
                          now: environment.now())
        environment.registry.handlersAlive.add(1, ordering: .relaxed)
    }

    deinit {
        environment.registry.handlersAlive.subtract(1, ordering: .relaxed)
    }

    var sessionID: String { session.client.sessionID }
    var logger: Logger { environment.logger }
    var tlsContext: TLSContext? { configuration.tls }
    var limits: Limits { configuration.limits }
    /// `log format json`: events carry their fields as metadata too (built only then).
    var structuredLogs: Bool { LogWriter.jsonLines.load(ordering: .relaxed) }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    /// Added to a channel that is already active (after a PROXY header): the session begins now.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive, self.context == nil { begin(context) }
    }

    private func begin(_ context: ChannelHandlerContext) {
        guard self.context == nil else { return }
        self.context = context
        flow.began = true
        environment.metrics.sessionOpened(listener: listener)
        environment.registry.add(context.channel)
        environment.logger.info("\(sessionID): connect from [\(session.clientAddress)]:\(session.client.port ?? 0)",
                                metadata: structuredLogs ? ["event": "connect", "client": "\(session.clientAddress)",
                                                            "port": "\(session.client.port ?? 0)", "listener": "\(listener)"] : nil)
        environment.clocks.clock(of: eventLoop).add(self)
        if admit(context) { perform(session.start()) }
        flush()
    }

    /// The connection limits, before anything else: a refused client gets `421 4.7.0` and never costs
    /// an upstream connection. Logged once per client per minute, counted every time.
    private func admit(_ context: ChannelHandlerContext) -> Bool {
        switch environment.limiter.admit(session.client, limits: limits, now: environment.now()) {
        case .admitted:
            flow.admitted = true
            return true
        case .refused(let limit, let log, let refusedSince):
            environment.metrics.limitTripped(limit)
            if log {
                environment.logger.info("\(sessionID): refused [\(session.clientAddress)]: limit \(limit) (\(refusedSince) refused in the last minute)")
            }
            SMTPReply.tooManyConnections(configuration.hostname).write(into: &output)
            environment.metrics.replied(code: 421)
            close(.limit)
            return false
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        environment.clocks.clock(of: eventLoop).remove(self)
        releaseMessage()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(session.clientClosed())
        if flow.admitted {
            flow.admitted = false
            environment.limiter.release(session.client, limits: limits)
        }
        environment.registry.remove(context.channel)
        if flow.began {
            flow.began = false
            environment.metrics.sessionClosed(flow.endReason ?? .clientGone)
        }
        environment.logger.info("\(sessionID): disconnect from [\(session.clientAddress)] messages=\(session.delivered)",
                                metadata: structuredLogs ? ["event": "disconnect", "client": "\(session.clientAddress)",
                                                            "messages": "\(session.delivered)",
                                                            "reason": "\((flow.endReason ?? .clientGone).rawValue)"] : nil)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pace.clientActive()
        guard !flow.closed else { return }
        if !session.hasGreeted {
            let refusal = session.clientSpokeEarly()
            if !refusal.isEmpty {
                environment.logger.info("\(sessionID): [\(session.clientAddress)] talked before the greeting: refused")
                perform(refusal)
                return
            }
        }
        input.appendRead(&incoming)
        process()
    }

    func read(context: ChannelHandlerContext) {
        if isCongested {
            flow.pendingRead = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            perform(session.shutdownRequested())
            flush()
        } else if let handshake = event as? TLSHandshakeCompleted {
            session.tlsEstablished("\(handshake.version) with cipher \(handshake.cipher)")
            environment.metrics.tlsHandshake(.client, succeeded: true)
            environment.logger.info("\(sessionID): TLS established: \(session.client.tls ?? "")")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is TLSError {
            environment.logger.info("\(sessionID): TLS failed: \(error)")
            if session.client.tls == nil { environment.metrics.tlsHandshake(.client, succeeded: false) }
            if flow.endReason == nil { flow.endReason = .tls }
        } else {
            if flow.endReason == nil { flow.endReason = .error }
            environment.logger.debug("\(sessionID): client connection error: \(error)")
        }
        context.close(promise: nil)
    }

    // MARK: Processing client input

    /// Feeds buffered input to the session for as long as it can take it.
    func process() {
        guard !flow.processing else { return }
        flow.processing = true
        defer { flow.processing = false }
        loop: while !flow.closed {
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
                        environment.logger.trace("\(sessionID): <<< \(command.verb)")
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
                guard input.readableBytes > 0, !flow.settlingSpool, receiver != nil else { break loop }
                let available = input.readableBytes
                let finished = receiver!.receive(&input)
                pace.received(dataOctets: available - input.readableBytes)
                if finished {
                    pace.lineReceived()
                    finishMessage()
                }
            }
        }
        input.settleAfterParsing(allocator: Self.allocator)
        flush()
        resumeReadingIfPossible()
    }

    var isCongested: Bool {
        input.readableBytes >= limits.inputBuffer || (receiver?.spool.isCongested ?? false)
    }

    func resumeReadingIfPossible() {
        guard flow.pendingRead, !isCongested, !flow.closed else { return }
        flow.pendingRead = false
        context?.read()
    }

    // MARK: Carrying out actions

    func perform(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                environment.logger.trace("\(sessionID): >>> \(reply)")
                environment.metrics.replied(code: reply.code)
                reply.write(into: &output)
            case .forward(let command):
                switch command {
                case .helo(let name), .ehlo(let name):
                    guard configuration.session.introduceClient else { relay(.command(command)); break }
                    let greeting = Greeting(name: name, extended: { if case .ehlo = command { true } else { false } }())
                    relay(.greet(command, ClientIntroduction(client: session.client, greeting: greeting)))
                default:
                    relay(.command(command))
                }
            case .forwardAuthResponse(let line):
                relay(.authResponse(line))
            case .resetUpstream:
                relay(.reset)
            case .sendMessage(let plan):
                relay(.message(plan), source: receiver?.spool)
            case .receiveMessage(let limits):
                receiveMessage(limits)
            case .connectUpstream:
                connectUpstream()
            case .delayGreeting(let seconds):
                flow.greetDeadline = environment.now() + .nanoseconds(Int64(seconds * 1e9))
            case .startTLS:
                startTLS()
            case .evaluate(let request):
                evaluate(request)
            case .discardMessage:
                releaseMessage()
            case .policy(let notes):
                for note in notes { logPolicy(note) }
            case .outcome(let outcome):
                logOutcome(outcome)
            case .close(let reason):
                switch reason {
                case .pregreet: environment.metrics.limitTripped("early-talker")
                case .limit: environment.metrics.limitTripped("messages-per-session")
                case .errors: environment.metrics.limitTripped("errors")
                default: break
                }
                close(reason)
            }
        }
    }

    func flush() {
        guard output.readableBytes > 0, let context else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        // Usually written at once: the storage is ours again and is reused (else copy-on-write).
        output.clear()
    }
}
