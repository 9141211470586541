import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The open client sessions, so that shutdown can tell each one to finish and count what is left.
final class SessionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
    /// Session handlers not yet freed. At rest it equals `count`; a handler that outlives its
    /// connection is a leak (a test holds it to zero).
    let handlersAlive = Atomic<Int>(0)
    /// Message spools not yet freed (each holds memory or an open file until it goes).
    let spoolsAlive = Atomic<Int>(0)
    /// Upstream connection handlers not yet freed.
    let upstreamsAlive = Atomic<Int>(0)

    func add(_ channel: Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: Channel) {
        channels.withLockedValue { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { channels.withLockedValue { $0.count } }

    /// The open client connections right now.
    var all: [Channel] { channels.withLockedValue { Array($0.values) } }

    /// Delivers `ShutdownEvent` to every open session.
    func requestShutdown() {
        for channel in all {
            channel.pipeline.fireUserInboundEventTriggered(ShutdownEvent())
        }
    }
}

/// Sent down a session's pipeline when the shutdown grace period is over.
struct ShutdownEvent: Sendable {}
