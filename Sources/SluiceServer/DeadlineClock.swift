import NIOConcurrencyHelpers
import NIOCore

/// The monotonic time every session deadline is measured in: the system's, or a manual one that
/// tests move forward. Moving a manual clock makes every session clock look at once, so a timeout test
/// advances time instead of waiting for it.
public final class DeadlineClock: Sendable {
    private let manual: NIOLockedValueBox<NIODeadline>?
    private let observers = NIOLockedValueBox<[@Sendable () -> Void]>([])

    private init(manual: NIODeadline?) {
        self.manual = manual.map { NIOLockedValueBox($0) }
    }

    /// The system's monotonic clock.
    public static let system = DeadlineClock(manual: nil)

    /// A clock that stands still until `advance(by:)` moves it.
    public static func manual() -> DeadlineClock {
        DeadlineClock(manual: .uptimeNanoseconds(1_000_000_000))
    }

    public func now() -> NIODeadline {
        guard let manual else { return .now() }
        return manual.withLockedValue { $0 }
    }

    /// Moves a manual clock forward and has every session clock look at the new time.
    public func advance(by amount: TimeAmount) {
        guard let manual else { preconditionFailure("the system clock cannot be moved") }
        manual.withLockedValue { $0 = $0 + amount }
        for observer in observers.withLockedValue({ $0 }) { observer() }
    }

    func observe(_ observer: @escaping @Sendable () -> Void) {
        observers.withLockedValue { $0.append(observer) }
    }
}
