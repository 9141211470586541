import Dispatch
import SluicePolicy
import SluiceStore

/// A greylist store that passes every key, but only after `delay` seconds: a store under load, for
/// tests of what happens while a lookup is pending.
public struct SlowGreylistStore: GreylistStore {
    public let delay: Double
    private let queue = DispatchQueue(label: "sluice.test.slow-greylist")

    public init(delay: Double) { self.delay = delay }

    public func decide(_ key: GreylistKey, now: Int64, settings: GreylistSettings,
                       completion: @escaping @Sendable (Result<GreylistDecision, Error>) -> Void) {
        queue.asyncAfter(deadline: .now() + delay) { completion(.success(.pass)) }
    }
    public func list(filter: String?, now: Int64) async throws -> [GreylistRow] { [] }
    public func allow(_ entry: AllowEntry) async throws {}
    public func forget(_ key: GreylistKey) async throws -> Bool { false }
    public func stats(now: Int64) async throws -> GreylistStats { throw GreylistStoreError.unavailable("no stats in the slow store") }
    public func expire(now: Int64, settings: GreylistSettings) async throws -> Int { 0 }
    public func close() async {}
}
