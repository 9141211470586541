import Foundation
import Logging
import Metrics
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

    private let environment: SessionEnvironment
    /// The settings in force when this session began (a reload applies to new sessions).
    private let configuration: ServerConfiguration
    private let sessionConfiguration: SessionConfiguration
    private let listener: ListenerOptions
    /// `TLSv1.3 with cipher …` once the client's TLS handshake completed.
    private var tlsInfo: String?
    /// Sluice's own STARTTLS with the upstream, before the greeting reaches the session.
    private var negotiation: UpstreamTLSNegotiation
    private var session: ClientSession
    private let sessionID = SessionIdentifier.make()
    private var logger: Logger
    private var context: ChannelHandlerContext!
    private var clientAddress = "unknown"

    private var input = ByteBuffer()
    private var output = ByteBuffer()
    private var framer: CommandLineFramer
    private var decoder: DataDecoder?
    private var spool: MessageSpool?
    /// The header block as parsed for content rules (its edits replace it on the way upstream).
    private var inspectedHeader: MessageHeader?

    private var upstream: Channel?
    private var upstreamUsable = true
    private var quitSentUpstream = false
    private var upstreamTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var lastClientActivity = NIODeadline.now()

    private var pendingRead = false
    private var processing = false
    private var closed = false
    private var messages = 0

    init(environment: SessionEnvironment, listener: ListenerOptions = ListenerOptions()) {
        self.environment = environment
        self.listener = listener
        (self.configuration, self.sessionConfiguration) = environment.settings.withLockedValue { $0 }
        self.session = ClientSession(configuration: sessionConfiguration)
        self.negotiation = UpstreamTLSNegotiation(mode: configuration.upstreamTLS == nil ? .none : configuration.upstreamTLSMode,
                                                  hostname: configuration.hostname)
        self.framer = CommandLineFramer(maxLength: configuration.limits.commandLineLength)
        self.logger = environment.logger
    }

    var tlsContext: TLSContext? { configuration.tls }
    private var limits: Limits { configuration.limits }
    private var timeouts: UpstreamTimeouts { configuration.upstreamTimeouts }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        input = context.channel.allocator.buffer(capacity: 0)
        output = context.channel.allocator.buffer(capacity: 0)
        let remote = context.remoteAddress
        if let remote {
            clientAddress = remote.ipAddress ?? "\(remote)"
        }
        session = ClientSession(configuration: sessionConfiguration, clientAddress: clientAddress,
                                tlsActive: listener.implicitTLS, tlsRequired: listener.tlsRequired)
        environment.registry.add(context.channel)
        logger.info("\(sessionID): connect from [\(clientAddress)]:\(remote?.port ?? 0)")
        armIdleTimer(after: limits.idleTimeout)
        perform(session.start())
        flush()
        context.fireChannelActive()
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
        input.writeBuffer(&incoming)
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
        upstreamTimer?.cancel()
        upstreamTimer = nil
        if negotiation.isActive { return negotiate(negotiation.replied(reply)) }
        perform(session.upstreamReplied(reply))
        process()
    }

    func upstreamTLSEstablished(_ handshake: TLSHandshakeCompleted) {
        logger.info("\(sessionID): upstream TLS established: \(handshake.version) with cipher \(handshake.cipher)")
        if negotiation.isActive { negotiate(negotiation.handshakeCompleted()) }
    }

    private func negotiate(_ action: UpstreamTLSNegotiation.Action) {
        switch action {
        case .send(let line):
            guard let upstream else { return }
            var buffer = upstream.allocator.buffer(capacity: line.utf8.count + 2)
            buffer.writeString(line + "\r\n")
            upstream.writeAndFlush(buffer, promise: nil)
            armUpstreamTimer(after: timeouts.command)
        case .startHandshake:
            guard let upstream, let tls = configuration.upstreamTLS else { return upstreamFailed(.protocolError("no upstream TLS context")) }
            do {
                try upstream.pipeline.syncOperations.addHandler(TLSHandler(context: tls), position: .first)
                armUpstreamTimer(after: timeouts.connect)
            } catch {
                upstreamFailed(.protocolError("upstream TLS: \(error)"))
            }
        case .done(let greeting):
            perform(session.upstreamReplied(greeting))
            process()
        case .fail(let reason):
            logger.warning("\(sessionID): upstream \(configuration.upstream): \(reason)")
            upstream?.close(promise: nil)
            upstreamFailed(.protocolError(reason))
        }
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard upstreamUsable else { return }
        upstreamUsable = false
        upstreamTimer?.cancel()
        upstreamTimer = nil
        upstream = nil
        if !closed { logger.warning("\(sessionID): upstream \(configuration.upstream) failed: \(failure)") }
        perform(session.upstreamFailed(failure))
        process()
    }

    private func connectUpstream(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let target = environment.upstreamAddress
        let implicitTLS = configuration.upstreamTLSMode == .tls ? configuration.upstreamTLS : nil
        armUpstreamTimer(after: timeouts.connect)
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.milliseconds(Int64(timeouts.connect * 1000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = bound.value
                    if let implicitTLS { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: implicitTLS)) }
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(delegate: handler))
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
    private func process() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        loop: while !closed {
            switch session.inputMode {
            case .none:
                break loop
            case .command:
                guard let event = framer.next(from: &input) else { break loop }
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
                switch event {
                case .line(let line): perform(session.receivedAuthResponse(String(buffer: line)))
                case .fault: perform(session.receivedAuthResponse("*")) // cancel the exchange (RFC 4954)
                }
            case .data:
                guard input.readableBytes > 0, var decoder, let spool else { break loop }
                var chunk = context.channel.allocator.buffer(capacity: input.readableBytes)
                let finished = decoder.decode(&input, into: &chunk)
                self.decoder = decoder
                spool.append(chunk)
                if finished {
                    perform(session.dataFinished(size: decoder.size, fault: decoder.fault))
                } else if spool.failed {
                    perform(session.spoolFailed())
                }
            }
        }
        if input.readerIndex > 4096 { input.discardReadBytes() }
        flush()
        resumeReadingIfPossible()
    }

    private var isCongested: Bool {
        input.readableBytes >= limits.inputBuffer || (spool?.isCongested ?? false)
    }

    private func resumeReadingIfPossible() {
        guard pendingRead, !isCongested, !closed else { return }
        pendingRead = false
        context.read()
    }

    // MARK: Carrying out actions

    private func perform(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                logger.trace("\(sessionID): >>> \(reply)")
                reply.write(into: &output)
            case .forward(let command, let wait):
                sendUpstream(command)
                armUpstreamTimer(after: wait == .command ? timeouts.command : timeouts.endOfData)
            case .forwardAuthResponse(let line):
                if let upstream {
                    var buffer = upstream.allocator.buffer(capacity: line.utf8.count + 2)
                    buffer.writeString(line + "\r\n")
                    upstream.writeAndFlush(buffer, promise: nil)
                }
                armUpstreamTimer(after: timeouts.command)
            case .receiveData:
                decoder = DataDecoder(maxLineLength: limits.dataLineLength, maxSize: session.messageSizeLimit,
                                      policy: configuration.bareLineEndings)
                let spool = MessageSpool(directory: configuration.spoolDirectory,
                                         threshold: limits.memorySpoolThreshold,
                                         inspectionLimit: 256 * 1024 + configuration.bodyInspection,
                                         pool: environment.pool,
                                         eventLoop: context.eventLoop, allocator: context.channel.allocator)
                spool.onDrained = { [unowned self] in self.resumeReadingIfPossible() }
                self.spool = spool
            case .connectUpstream:
                connectUpstream(context: context)
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

    private func flush() {
        guard output.readableBytes > 0, context != nil else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        output = context.channel.allocator.buffer(capacity: 0)
    }

    private func sendUpstream(_ command: SMTPCommand) {
        guard let upstream else { return }
        if command == .quit { quitSentUpstream = true }
        let line = command.wireLine
        var buffer = upstream.allocator.buffer(capacity: line.utf8.count + 2)
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        upstream.writeAndFlush(buffer, promise: nil)
    }

    /// STARTTLS: the 220 goes out in plaintext, every byte the client pipelined after STARTTLS is
    /// discarded (CVE-2011-0411), and the TLS handler takes over the connection.
    private func startTLS() {
        flush()
        input.clear()
        guard let tls = configuration.tls else { return close() }
        do {
            try context.pipeline.syncOperations.addHandler(TLSHandler(context: tls), position: .first)
        } catch {
            logger.warning("\(sessionID): could not start TLS: \(error)")
            close()
        }
    }

    /// Asks the greylist store (off the event loop) about every key; a store that fails or answers
    /// later than `greylist timeout` leaves the decision to `greylist on-error`.
    private func checkGreylist(_ keys: [GreylistKey]) {
        let settings = sessionConfiguration.greylist
        guard let store = environment.greylistStore else {
            logger.warning("\(sessionID): greylist rule fired but no greylist store is open: on-error \(settings.onError.rawValue)")
            return perform(session.greylistDecided(.storeFailed))
        }
        let now = environment.clock()
        var answered = false
        let finish: (GreylistResult) -> Void = { result in
            guard !answered, !self.closed else { return }
            answered = true
            if result == .storeFailed {
                Counter(label: "sluice_greylist_store_errors_total").increment()
            } else {
                Counter(label: "sluice_greylist_decisions_total", dimensions: [("result", result == .pass ? "pass" : "defer")]).increment()
            }
            self.perform(self.session.greylistDecided(result))
            self.process()
        }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(settings.storeTimeout * 1e9))) {
            self.logger.warning("\(self.sessionID): greylist store did not answer within \(settings.storeTimeout)s: on-error \(settings.onError.rawValue)")
            finish(.storeFailed)
        }
        // Each key in turn, through the store's callback; the answer hops back onto this event loop.
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound(finish, eventLoop: eventLoop)
        let logger = self.logger, sessionID = self.sessionID
        @Sendable func ask(_ index: Int, _ longest: Int64?) {
            guard index < keys.count else {
                let result: GreylistResult = longest.map { .deferred(retryAfter: $0) } ?? .pass
                eventLoop.execute { timeout.cancel(); bound.value(result) }
                return
            }
            store.decide(keys[index], now: now, settings: settings) { outcome in
                switch outcome {
                case .success(.pass): ask(index + 1, longest)
                case .success(.deferred(let seconds)): ask(index + 1, max(longest ?? 0, seconds))
                case .failure(let error):
                    eventLoop.execute {
                        timeout.cancel()
                        logger.warning("\(sessionID): greylist store failed: \(error): on-error \(settings.onError.rawValue)")
                        bound.value(.storeFailed)
                    }
                }
            }
        }
        ask(0, nil)
    }

    /// Reverse DNS on the thread pool (getnameinfo blocks); the answer counts only within 2 s.
    private func resolveClientName() {
        guard let address = context.remoteAddress else { return perform(session.clientNameResolved(nil)) }
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            self.perform(self.session.clientNameResolved(nil))
            self.flush()
        }
        environment.pool.runIfActive(eventLoop: context.eventLoop) { ReverseDNS.name(of: address) }
            .assumeIsolated().whenComplete { result in
                deadline.cancel()
                self.perform(self.session.clientNameResolved((try? result.get()) ?? nil))
                self.flush()
                self.process()
            }
    }

    /// Runs the header, body and eom rules on the thread pool: a large body scan never blocks the loop.
    private func inspectContent(_ facts: Facts) {
        guard let spool else { return }
        let bytes = spool.inspectionBytes
        let ruleSet = configuration.ruleSet
        let bodyLimit = configuration.bodyInspection
        environment.pool.runIfActive(eventLoop: context.eventLoop) { () -> (RuleSet.ContentOutcome, MessageHeader) in
            var facts = facts
            let wire = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
            let header = MessageHeader(wire: wire)
            facts.headers = header.fields.map { HeaderField(name: $0.name, value: $0.value) }
            facts.body = MessageHeader.unstuffedBody(wire[header.length..<min(wire.count, header.length + bodyLimit)])
            return (ruleSet.evaluateContent(facts), header)
        }.assumeIsolated().whenComplete { result in
            guard !self.closed else { return }
            switch result {
            case .success(let (outcome, header)):
                self.inspectedHeader = header
                self.perform(self.session.contentInspected(outcome))
            case .failure(let error):
                self.logger.warning("\(self.sessionID): content inspection failed: \(error)")
                var failed = RuleSet.ContentOutcome()
                failed.verdict = .tempfail(RuleSet.inspectionFailed)
                self.perform(self.session.contentInspected(failed))
            }
            self.process()
        }
    }

    private func sendMessage(greeting: Greeting, transaction: Transaction, edits: [HeaderEdit]) {
        guard let upstream, let spool else {
            upstreamFailed(.closed)
            return
        }
        let trace = TraceHeader(hostname: configuration.hostname, helo: greeting.name,
                                clientAddress: clientAddress, sessionID: sessionID, esmtp: greeting.extended,
                                recipient: transaction.recipients.count == 1 ? transaction.recipients[0].description : nil,
                                date: Date(), tls: tlsInfo)
        var header = upstream.allocator.buffer(capacity: 256)
        header.writeString(trace.text)
        var skip = 0
        if !edits.isEmpty, let inspected = inspectedHeader {
            header.writeBytes(inspected.applying(edits))
            skip = inspected.length
        }
        armUpstreamTimer(after: timeouts.endOfData)
        spool.send(header: header, skip: skip, to: upstream).assumeIsolated().whenFailure { error in
            // Never send the final dot of a message that did not go out whole: drop the connection.
            self.logger.warning("\(self.sessionID): could not send message upstream: \(error)")
            upstream.close(promise: nil)
        }
    }

    private func close() {
        guard !closed else { return }
        closed = true
        idleTimer?.cancel()
        upstreamTimer?.cancel()
        spool?.release()
        spool = nil
        if let upstream, upstreamUsable {
            upstreamUsable = false
            guard !quitSentUpstream else { return closeClient(upstream: upstream) }
            var quit = upstream.allocator.buffer(capacity: 6)
            quit.writeStaticString("QUIT\r\n")
            upstream.writeAndFlush(quit).assumeIsolated().whenComplete { _ in upstream.close(promise: nil) }
        }
        closeClient(upstream: nil)
    }

    private func closeClient(upstream closing: Channel?) {
        closing?.close(promise: nil)
        upstream = nil
        guard let context else { return }
        let pending = output
        output = context.channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(pending)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: Timers

    private func armUpstreamTimer(after seconds: Double) {
        upstreamTimer?.cancel()
        upstreamTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            guard let upstream = self.upstream else { return self.upstreamFailed(.timedOut) }
            self.upstreamFailed(.timedOut)
            upstream.close(promise: nil)
        }
    }

    /// One timer per session: on firing it checks when the client last sent anything.
    private func armIdleTimer(after seconds: Double) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            guard !self.closed else { return }
            let idle = Double((NIODeadline.now() - self.lastClientActivity).nanoseconds) / 1e9
            if self.session.inputMode == .none || idle < self.limits.idleTimeout {
                // Waiting on the upstream (its own timeouts apply), or the client spoke meanwhile.
                let remaining = self.session.inputMode == .none ? self.limits.idleTimeout : self.limits.idleTimeout - idle
                return self.armIdleTimer(after: max(remaining, 0.01))
            }
            self.logger.info("\(self.sessionID): idle timeout after \(Int(idle))s")
            self.perform(self.session.clientTimedOut())
            self.flush()
        }
    }

    // MARK: Logging

    private func logPolicy(_ note: PolicyNote) {
        let rule = note.rule.map { " rule=\($0)" } ?? ""
        let line = "\(sessionID): stage=\(note.stage.rawValue)\(rule) \(note.kind == .log ? "log: " : "")\(note.text)"
        if note.kind == .limitExceeded { logger.warning("\(line)") } else { logger.info("\(line)") }
        // Bounded labels: stage, verdict, rule (file:line), mode — never an address or a subject.
        guard note.kind != .log else { return }
        Counter(label: "sluice_rule_matches_total", dimensions: [
            ("stage", note.stage.rawValue), ("verdict", note.verdict), ("rule", note.rule?.description ?? "builtin"),
            ("mode", note.kind == .observed ? "observe" : "enforce"),
        ]).increment()
    }

    private func logOutcome(_ outcome: TransactionOutcome) {
        if outcome.status == .delivered { messages += 1 }
        Counter(label: "sluice_transactions_total", dimensions: [("status", outcome.status.rawValue)]).increment()
        let recipients = outcome.transaction.recipients.map(\.description).joined(separator: ",")
        logger.info("\(sessionID): client=[\(clientAddress)] helo=\(outcome.greeting.name) from=\(outcome.transaction.sender) to=\(recipients) size=\(outcome.size) status=\(outcome.status.rawValue) reply=\"\(outcome.reply)\"")
    }
}
