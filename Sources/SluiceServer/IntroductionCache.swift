import Logging
import NIOConcurrencyHelpers
import SluiceSession

/// What the upstream was last seen to offer for introducing clients (XCLIENT, XFORWARD), shared by
/// every session of a server: only the first connection spends an EHLO of Sluice's own to find out,
/// and a change (the upstream stops or starts offering them) is logged once.
final class IntroductionCache: Sendable {
    private let support = NIOLockedValueBox(IntroductionSupport())

    var current: IntroductionSupport { support.withLockedValue { $0 } }

    func learned(_ seen: IntroductionSupport, logger: Logger) {
        let changed = support.withLockedValue { current -> Bool in
            defer { current = seen }
            return current != seen
        }
        guard changed else { return }
        let how = seen.xclient == true ? "XCLIENT (before each client's EHLO)" : seen.xforward == true ? "XFORWARD (before each MAIL)" : "neither XCLIENT nor XFORWARD"
        logger.info("upstream offers \(how): \(seen.xclient == true || seen.xforward == true ? "introducing the real clients" : "the trace header carries the real clients")")
    }
}
