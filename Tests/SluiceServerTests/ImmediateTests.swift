import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import SluiceServer
import Testing

/// Async work started at once on the calling thread: a value when nothing it awaited had to wait (the
/// resolver's cache answered), a future on the event loop when something did.
@Suite struct ImmediateTests {
    @Test func workThatNeverWaitsGivesItsValueAtOnceOnTheCallingThread() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let caller = pthread_self()
        let ranHere = NIOLockedValueBox(false)
        let result = Immediate.run(on: group.next()) {
            // A continuation resumed before it is awaited does not suspend (as a kept DNS answer).
            let doubled = await withCheckedContinuation { continuation in continuation.resume(returning: 21 * 2) }
            ranHere.withLockedValue { $0 = pthread_equal(caller, pthread_self()) != 0 }
            return doubled
        }
        guard case .now(let value) = result else { Issue.record("it waited"); return }
        #expect(value == 42)
        #expect(ranHere.withLockedValue { $0 }, "on the thread that started it")
    }

    @Test func workThatWaitsGivesAFutureOnTheEventLoop() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let eventLoop = group.next()
        let result = Immediate.run(on: eventLoop) {
            // Answered later, from another thread (as a lookup that went to the DNS server).
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { usleep(50_000); continuation.resume(returning: "late") }
            }
        }
        guard case .later(let future) = result else { Issue.record("it did not wait"); return }
        #expect(future.eventLoop === eventLoop)
        #expect(try future.wait() == "late")
        #expect(try result.future(on: eventLoop).wait() == "late")
    }
}
