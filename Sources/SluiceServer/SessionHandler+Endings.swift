import NIOCore
import SluiceSMTP
import SluiceSession

/// The session's upstream, and how a session ends: closing both connections, and the timeouts that end it.
extension SessionHandler {
    func connectUpstream() {
        let connection = UpstreamConnection(
            settings: UpstreamSession.Settings(hostname: configuration.hostname,
                                               tlsMode: configuration.upstreamTLS == nil ? .none : configuration.upstreamTLSMode,
                                               timeouts: configuration.upstreamTimeouts,
                                               introduce: configuration.session.introduceClient,
                                               support: environment.introductions.current),
            tls: configuration.upstreamTLS, delegate: self, logger: logger, sessionID: sessionID,
            registry: environment.registry, metrics: environment.metrics, introductions: environment.introductions, now: environment.now)
        upstream = connection
        connection.connect(via: environment.upstreamConnector, on: eventLoop)
    }

    func relay(_ request: UpstreamSession.Request, source: MessageSpool? = nil) {
        guard let upstream else { return upstreamFailed(.closed) }
        upstream.relay(request, source: source)
    }

    // MARK: Upstream events

    func upstreamReplied(_ reply: SMTPReply) {
        perform(session.upstreamReplied(reply))
        process()
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        // A closed session closed its upstream itself (after QUIT, as a rule): nothing waits to hear it.
        guard !flow.closed else { return }
        if upstream != nil {
            upstream = nil
            environment.logger.warning("\(sessionID): upstream \(configuration.upstream) failed: \(failure)")
        }
        // Also when the connection was already gone: whatever the session waits for now, it hears that
        // the upstream is lost (a second report changes nothing in the session).
        perform(session.upstreamFailed(failure))
        process()
    }

    // MARK: Ending

    func close(_ reason: SessionEnd = .error) {
        guard !flow.closed else { return }
        flow.closed = true
        if flow.endReason == nil { flow.endReason = reason }
        environment.clocks.clock(of: eventLoop).remove(self)
        releaseMessage()
        // Only sessions that end without the client's QUIT owe the upstream one.
        upstream?.close()
        upstream = nil
        guard let context else { return }
        let pending = output
        output = Self.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(pending)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: Timeouts

    /// Called by the session clock on every tick: the upstream's reply overdue, or the client too slow
    /// or idle too long (that time counts only while the session waits on the client, not on the
    /// upstream, a policy step or its own spool).
    func checkDeadlines(now: NIODeadline) {
        guard !flow.closed else { return }
        if let greetDeadline = flow.greetDeadline, now >= greetDeadline {
            flow.greetDeadline = nil
            perform(session.greetDelayElapsed())
        }
        if let upstream {
            upstream.tick(now: now)
            guard !flow.closed else { return }
        }
        let waitingOnClient = session.inputMode != .none && !flow.pendingRead && !flow.settlingSpool
        let verdict = pace.looked(at: now, waitingOnClient: waitingOnClient)
        switch verdict {
        case .inTime: return
        case .idle: environment.logger.info("\(sessionID): idle timeout after \(Int(pace.idle))s")
        case .dataTooSlow: environment.logger.info("\(sessionID): client too slow: message data slower than \(pace.minimumDataRate) octets/s")
        case .commandTooSlow: environment.logger.info("\(sessionID): client too slow: no complete command within \(Int(pace.commandTime))s")
        }
        perform(session.clientTooSlow(verdict))
        flush()
    }
}
