import Foundation
import Logging
import NIOCore
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// The session handler's dealings with the services around it: TLS on both sides, the greylist store,
/// reverse DNS, content inspection on the thread pool, and the log lines and counters of decisions.
extension SessionHandler {
    func upstreamTLSEstablished(_ handshake: TLSHandshakeCompleted) {
        logger.info("\(sessionID): upstream TLS established: \(handshake.version) with cipher \(handshake.cipher)")
        if negotiation.isActive { negotiate(negotiation.handshakeCompleted()) }
    }

    func negotiate(_ action: UpstreamTLSNegotiation.Action) {
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

    /// STARTTLS: the 220 goes out in plaintext, every byte the client pipelined after STARTTLS is
    /// discarded (CVE-2011-0411), and the TLS handler takes over the connection.
    func startTLS() {
        flush()
        input.clear()
        guard let tls = configuration.tls, let context else { return close() }
        do {
            try context.pipeline.syncOperations.addHandler(TLSHandler(context: tls), position: .first)
        } catch {
            logger.warning("\(sessionID): could not start TLS: \(error)")
            close()
        }
    }

    /// Asks the greylist store (off the event loop) about every key; a store that fails or answers
    /// later than `greylist timeout` leaves the decision to `greylist on-error`.
    func checkGreylist(_ keys: [GreylistKey]) {
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
            self.environment.metrics.greylistDecided(result)
            self.perform(self.session.greylistDecided(result))
            self.process()
        }
        let timeout = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(settings.storeTimeout * 1e9))) {
            self.logger.warning("\(self.sessionID): greylist store did not answer within \(settings.storeTimeout)s: on-error \(settings.onError.rawValue)")
            finish(.storeFailed)
        }
        // Each key in turn, through the store's callback; the answer hops back onto this event loop.
        let eventLoop = eventLoop
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
    func resolveClientName() {
        guard let address = remoteAddress else { return perform(session.clientNameResolved(nil)) }
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            self.perform(self.session.clientNameResolved(nil))
            self.flush()
        }
        let resolve = configuration.reverseDNS
        environment.lookupPool.runIfActive(eventLoop: eventLoop) { resolve(address) }
            .assumeIsolated().whenComplete { result in
                deadline.cancel()
                self.perform(self.session.clientNameResolved((try? result.get()) ?? nil))
                self.flush()
                self.process()
            }
    }

    /// Runs the header, body and eom rules on the thread pool: a large body scan never blocks the loop.
    func inspectContent(_ facts: Facts) {
        guard let spool else { return }
        let bytes = spool.inspectionBytes
        let ruleSet = configuration.ruleSet
        let bodyLimit = configuration.bodyInspection
        environment.pool.runIfActive(eventLoop: eventLoop) { () -> (RuleSet.ContentOutcome, MessageHeader) in
            var facts = facts
            let wire = bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? []
            let header = facts.addMessage(wire: wire, bodyLimit: bodyLimit)
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

    // MARK: Logging

    func logPolicy(_ note: PolicyNote) {
        let rule = note.rule.map { " rule=\($0)" } ?? ""
        let line = "\(sessionID): stage=\(note.stage.rawValue)\(rule) \(note.kind == .log ? "log: " : "")\(note.text)"
        if note.kind == .limitExceeded { logger.warning("\(line)") } else { logger.info("\(line)") }
        // Bounded labels: stage, verdict, rule (file:line), mode — never an address or a subject.
        guard note.kind != .log else { return }
        environment.metrics.ruleMatched(note)
    }

    func logOutcome(_ outcome: TransactionOutcome) {
        if outcome.status == .delivered { messages += 1 }
        environment.metrics.transactionEnded(outcome.status)
        // `ID: client=[ADDR] helo=NAME from=<S> to=<R1>,<R2> size=N status=delivered reply="250 2.0.0 Ok"`,
        // written piece by piece into one buffer (one of these per message).
        var line = allocator.buffer(capacity: 160 + 40 * outcome.transaction.recipients.count)
        line.writeString(sessionID)
        line.writeStaticString(": client=[")
        line.writeString(clientAddress)
        line.writeStaticString("] helo=")
        line.writeString(outcome.greeting.name)
        line.writeStaticString(" from=")
        outcome.transaction.sender.write(into: &line)
        line.writeStaticString(" to=")
        for (index, recipient) in outcome.transaction.recipients.enumerated() {
            if index > 0 { line.writeStaticString(",") }
            recipient.write(into: &line)
        }
        line.writeStaticString(" size=")
        line.writeString(String(outcome.size))
        line.writeStaticString(" status=")
        line.writeString(outcome.status.rawValue)
        line.writeStaticString(" reply=\"")
        outcome.reply.writeSummary(into: &line)
        line.writeStaticString("\"")
        logger.info(Logger.Message(stringLiteral: String(buffer: line)))
    }
}
