import NIOCore
import SluiceSMTP
import SluiceSession

/// The session's policy requests and its message path: from the 354, through the receiver and the
/// spool, to the message decision.
extension SessionHandler {
    /// Hands a request to the policy pipeline; the decision comes back now or on this event loop.
    func evaluate(_ request: PolicyRequest) {
        let started = environment.now()
        switch pipeline.evaluate(request, from: PolicyPipeline.Origin(
            eventLoop: eventLoop, message: request.point == .message ? receiver?.spool.inspectionBytes : nil,
            spool: request.point == .message ? receiver.map { NIOLoopBound($0.spool, eventLoop: eventLoop) } : nil,
            logger: logger, sessionID: sessionID)) {
        case .decided(let decision):
            environment.metrics.decided(request.point, after: (environment.now() - started).nanoseconds)
            perform(session.policyDecided(decision))
        case .pending(let decision):
            decision.assumeIsolated().whenSuccess { decision in
                guard !self.flow.closed else { return }
                self.environment.metrics.decided(request.point, after: (self.environment.now() - started).nanoseconds)
                self.perform(self.session.policyDecided(decision))
                self.process()
            }
        }
    }

    func receiveMessage(_ limits: MessageLimits) {
        pace.dataStarted()
        let spool = MessageSpool(directory: configuration.spoolDirectory,
                                 threshold: self.limits.memorySpoolThreshold,
                                 inspectionLimit: self.limits.headerWindow + self.limits.bodyInspection,
                                 pool: environment.pool,
                                 eventLoop: eventLoop, allocator: Self.allocator, registry: environment.registry,
                                 metrics: environment.metrics)
        // A spool write can complete on the thread pool after the client is gone. The closure holds
        // this handler (strongly: a weak reference would give it a side table, and every retain and
        // release the slow path) until `release()` drops it, which every end of a message and of the
        // session calls (`close()`, `.discardMessage`, `handlerRemoved`): never a dangling call.
        spool.onDrained = { self.resumeReadingIfPossible() }
        receiver = MessageReceiver(limits: limits, spool: spool)
    }

    func releaseMessage() {
        receiver?.spool.release()
        receiver = nil
    }

    /// The final dot arrived. A message on disk goes on only once every write reached the file: a spool
    /// that failed (disk full, directory gone) is a 4xx now, before anything goes upstream. A spool
    /// failure during DATA is never answered mid-message: the client is not reading replies then, and
    /// what it still sends would be taken for commands.
    func finishMessage() {
        guard let receiver else { return }
        guard receiver.spool.isOnDisk, receiver.fault == nil else {
            return perform(session.dataFinished(size: receiver.size, fault: receiver.fault))
        }
        flow.settlingSpool = true
        let size = receiver.size
        receiver.spool.written().assumeIsolated().whenComplete { result in
            self.flow.settlingSpool = false
            guard !self.flow.closed else { return }
            switch result {
            case .success:
                self.perform(self.session.dataFinished(size: size, fault: nil))
            case .failure(let error):
                self.environment.logger.warning("\(self.sessionID): cannot spool message to \(self.configuration.spoolDirectory): \(error)")
                self.perform(self.session.spoolFailed(diskFull: MessageSpool.isDiskFull(error), size: size))
            }
            self.process()
        }
    }
}
