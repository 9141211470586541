import NIOConcurrencyHelpers

/// A clock tests move by hand (seconds since 1970), shared by every node of a test.
public final class ManualClock: Sendable {
    private let value: NIOLockedValueBox<Int64>

    public init(_ start: Int64 = 1_800_000_000) { value = NIOLockedValueBox(start) }

    public var now: Int64 { value.withLockedValue { $0 } }

    public func advance(by seconds: Int64) { value.withLockedValue { $0 += seconds } }

    /// For `ServerConfiguration.clock`.
    public var function: @Sendable () -> Int64 { { self.now } }
}
