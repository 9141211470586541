import Foundation

/// How long a test waits for something that should happen. Under a sanitizer (`make asan` and
/// `make tsan` set SLUICE_SANITIZER) every wait is three times as long: ASan slows the process two- to
/// threefold, and in a CI run with every suite started at once a 10 s wait for a close or a reply
/// ran out twice (FloodLimitTests, SessionLifetimeTests) although nothing was wrong. A wait ends as
/// soon as its event comes, so a passing test is not slowed; only a wait meant to run out is.
public enum Patience {
    public static let factor: Double = ProcessInfo.processInfo.environment["SLUICE_SANITIZER"] == nil ? 1 : 3

    /// The moment a wait of `seconds` (scaled) ends.
    public static func deadline(after seconds: Double) -> Date {
        Date().addingTimeInterval(seconds * factor)
    }
}
