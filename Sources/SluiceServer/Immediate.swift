import NIOConcurrencyHelpers
import NIOCore

/// The result of async work started at once on the current thread (`Task.immediate`, SE-0472): the
/// value, when the work never had to wait (every DNS answer it asked for was kept by the resolver, the
/// usual case once the cache is warm), else a future of it on an event loop. Work that never waits
/// costs no hop to Swift's cooperative pool and back: on a warm cache, the SPF check runs where the
/// MAIL command is handled, and DKIM and DMARC in the same pool job as the body hash.
enum Immediate<Value: Sendable>: Sendable {
    case now(Value)
    case later(EventLoopFuture<Value>)

    /// Runs `work` on this thread until it first suspends; whatever is left runs as a task would.
    static func run(on eventLoop: EventLoop, _ work: @escaping @Sendable () async -> Value) -> Immediate {
        let state = NIOLockedValueBox(State.running)
        Task.immediate {
            let value = await work()
            let waiting = state.withLockedValue { state -> EventLoopPromise<Value>? in
                if case .waiting(let promise) = state { return promise }
                state = .done(value)
                return nil
            }
            waiting?.succeed(value)
        }
        return state.withLockedValue { state in
            if case .done(let value) = state { return .now(value) }
            let promise = eventLoop.makePromise(of: Value.self)
            state = .waiting(promise)
            return .later(promise.futureResult)
        }
    }

    /// The value as a future on `eventLoop`.
    func future(on eventLoop: EventLoop) -> EventLoopFuture<Value> {
        switch self {
        case .now(let value): return eventLoop.makeSucceededFuture(value)
        case .later(let future): return future
        }
    }

    private enum State {
        case running
        case done(Value)
        case waiting(EventLoopPromise<Value>)
    }
}
