import NIOCore

/// The timeouts of one event loop's sessions, without a timer per session. A session keeps its
/// deadlines as plain values, so arming or clearing one costs a clock read and no allocation; one
/// task per event loop looks at every session on each tick. A timeout fires at most one tick late:
/// the tick is a quarter of the shortest timeout configured, between 10 ms and 1 s.
///
/// Used only on its event loop (checked in debug builds).
final class SessionClock: @unchecked Sendable {
    private let eventLoop: EventLoop
    /// The current tick (the configuration can change on reload).
    private let interval: @Sendable () -> TimeAmount
    private let clock: DeadlineClock
    private var sessions: [SessionHandler] = []
    private var ticking = false

    init(eventLoop: EventLoop, clock: DeadlineClock, interval: @escaping @Sendable () -> TimeAmount) {
        self.eventLoop = eventLoop
        self.clock = clock
        self.interval = interval
    }

    /// The tick for these timeouts (seconds).
    static func interval(for timeouts: [Double]) -> TimeAmount {
        let shortest = timeouts.filter { $0 > 0 }.min() ?? 4
        return .nanoseconds(Int64(min(max(shortest / 4, 0.01), 1) * 1e9))
    }

    func add(_ session: SessionHandler) {
        eventLoop.assertInEventLoop()
        session.clockSlot = sessions.count
        sessions.append(session)
        if !ticking { scheduleTick() }
    }

    func remove(_ session: SessionHandler) {
        eventLoop.assertInEventLoop()
        guard let slot = session.clockSlot, slot < sessions.count, sessions[slot] === session else { return }
        let last = sessions.removeLast()
        if slot < sessions.count {
            sessions[slot] = last
            last.clockSlot = slot
        }
        session.clockSlot = nil
    }

    private func scheduleTick() {
        ticking = true
        eventLoop.assumeIsolated().scheduleTask(in: interval()) { self.tick() }
    }

    private func tick() {
        ticking = false
        look()
        if !sessions.isEmpty && !ticking { scheduleTick() }
    }

    /// Every session checks its deadlines against the clock's time (on each tick, and when a manual
    /// clock is moved).
    func look() {
        eventLoop.assertInEventLoop()
        let now = clock.now()
        // A session may end (and leave the list) while its deadline is handled: walk a copy.
        for session in sessions {
            session.checkDeadlines(now: now)
        }
    }
}

/// One `SessionClock` per event loop of the server.
final class SessionClocks: Sendable {
    private let clocks: [ObjectIdentifier: SessionClock]

    init(group: EventLoopGroup, clock: DeadlineClock, interval: @escaping @Sendable () -> TimeAmount) {
        var clocks: [ObjectIdentifier: SessionClock] = [:]
        for loop in group.makeIterator() {
            let sessionClock = SessionClock(eventLoop: loop, clock: clock, interval: interval)
            clocks[ObjectIdentifier(loop)] = sessionClock
            clock.observe { loop.execute { sessionClock.look() } }
        }
        self.clocks = clocks
    }

    /// The clock of `eventLoop` (call on that loop).
    func clock(of eventLoop: EventLoop) -> SessionClock {
        clocks[ObjectIdentifier(eventLoop)]!
    }
}
