import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceStore

/// What `/readyz` checks: the listeners are open (and the server is not stopping), the upstream takes a
/// TCP connection within two seconds, and the greylist store answers a read within two seconds.
///
/// The upstream check is a connect and an immediate close, not an SMTP dialogue: a probe every few
/// seconds should not fill the upstream's log with sessions (Postfix logs it as a connect and a
/// disconnect from Sluice's address).
struct Readiness: Sendable {
    let listeners: ListenerSet
    let stopping: NIOLockedValueBox<Bool>
    let upstream: SocketAddress
    let group: EventLoopGroup
    let store: (any GreylistStore)?
    let clock: @Sendable () -> Int64
    var timeout: TimeAmount = .seconds(2)

    func check() async -> [String] {
        // Stopping: nothing else is asked (the store and the loops are going away).
        if stopping.withLockedValue({ $0 }) { return ["stopping"] }
        var failures: [String] = []
        if listeners.isEmpty { failures.append("no listener open") }
        do {
            let channel = try await ClientBootstrap(group: group).connectTimeout(timeout).connect(to: upstream).get()
            try? await channel.close()
        } catch {
            failures.append("upstream \(upstream) unreachable: \(error)")
        }
        if let store, let failure = await storeFailure(store) { failures.append(failure) }
        return failures
    }

    /// The store's answer to a read, or a timeout (a hung store does not hold the probe: the read is
    /// left to finish on its own).
    private func storeFailure(_ store: any GreylistStore) async -> String? {
        let clock = self.clock, seconds = timeout.nanoseconds / 1_000_000_000
        let answered = NIOLockedValueBox(false)
        return await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            func finish(_ failure: String?) {
                if answered.withLockedValue({ done in defer { done = true }; return !done }) { continuation.resume(returning: failure) }
            }
            Task {
                do {
                    _ = try await store.stats(now: clock())
                    finish(nil)
                } catch {
                    finish("greylist store: \(error)")
                }
            }
            group.next().scheduleTask(in: timeout) { finish("greylist store: no answer within \(seconds)s") }
        }
    }
}
