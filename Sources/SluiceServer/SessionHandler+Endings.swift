import NIOCore
import SluiceSession

/// How a session ends: closing both connections, and the timeouts that end it.
extension SessionHandler {
    func close() {
        guard !closed else { return }
        closed = true
        upstreamDeadline = nil
        clock?.remove(self)
        spool?.release()
        spool = nil
        if let upstream, upstreamUsable {
            upstreamUsable = false
            guard !quitSentUpstream else { return closeClient(upstream: upstream) }
            var quit = upstream.allocator.buffer(capacity: 6)
            quit.writeStaticString("QUIT\r\n")
            // A polite QUIT, but not an endless one: behind a message an upstream stopped reading, it would
            // wait for ever, and the upstream connection (and this handler, which it holds) with it.
            // Like Postfix's smtp_quit_timeout, the command timeout bounds it. Only sessions that end
            // without the client's QUIT come here.
            let giveUp = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(timeouts.command * 1e9))) {
                upstream.close(promise: nil)
            }
            upstream.writeAndFlush(quit).assumeIsolated().whenComplete { _ in
                giveUp.cancel()
                upstream.close(promise: nil)
            }
        }
        closeClient(upstream: nil)
    }

    func closeClient(upstream closing: Channel?) {
        closing?.close(promise: nil)
        upstream = nil
        guard let context else { return }
        let pending = output
        output = allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(pending)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: Timeouts

    func armUpstreamTimer(after seconds: Double) {
        upstreamDeadline = .now() + .nanoseconds(Int64(seconds * 1e9))
    }

    /// Called by the session clock on every tick: the upstream's reply overdue, or the client idle
    /// too long (the idle time counts only while the session waits on the client).
    func checkDeadlines(now: NIODeadline) {
        guard !closed else { return }
        if let deadline = upstreamDeadline, now >= deadline {
            let upstream = self.upstream
            upstreamFailed(.timedOut) // clears the deadline: it fires once
            upstream?.close(promise: nil)
            return
        }
        // Idle time counts only while the session waits on the client, not on the upstream or on its
        // own spool (reading paused while the disk catches up).
        let sinceLastTick = Double((now - lastTick).nanoseconds) / 1e9
        lastTick = now
        if session.inputMode == .none || pendingRead || settlingSpool {
            lastClientActivity = now
            return
        }
        let verdict = pace.waited(sinceLastTick)
        if verdict != .inTime {
            let what = verdict == .dataTooSlow ? "message data slower than \(pace.minimumDataRate) octets/s" : "no complete command within \(Int(pace.commandTime))s"
            logger.info("\(sessionID): client too slow: \(what)")
            perform(session.clientTooSlow(verdict))
            flush()
            return
        }
        let idle = Double((now - lastClientActivity).nanoseconds) / 1e9
        if idle >= limits.idleTimeout {
            logger.info("\(sessionID): idle timeout after \(Int(idle))s")
            perform(session.clientTimedOut())
            flush()
        }
    }
}
