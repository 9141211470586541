import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceDNS
import SluiceSession
import SluiceStore

/// What every session of one server shares.
struct SessionEnvironment: Sendable {
    /// The current settings; SIGHUP replaces them whole, and each session reads them once when it begins.
    let settings: NIOLockedValueBox<ServerConfiguration>
    /// How upstream connections are opened (TCP to the address resolved at start-up).
    let upstreamConnector: any UpstreamConnector
    /// Disk (spool) and content rules.
    let pool: NIOThreadPool
    /// The DNS, off the event loops.
    let resolver: DNSResolver?
    let registry: SessionRegistry
    /// Admission before the dialogue: connections in all and per client, connection rate.
    let limiter: ConnectionLimiter
    /// Each event loop's session timeouts.
    let clocks: SessionClocks
    let metrics: ServerMetrics
    /// What the upstream offers for introducing clients (XCLIENT, XFORWARD), as last seen.
    let introductions = IntroductionCache()
    let logger: Logger
    /// Where greylisting state lives (nil: no rule greylists).
    let greylistStore: (any GreylistStore)?
    /// Seconds since 1970, for greylisting (tests inject a manual clock).
    let clock: @Sendable () -> Int64
    /// The monotonic time deadlines are measured in (tests move a manual one).
    let deadlineClock: DeadlineClock
    var now: @Sendable () -> NIODeadline { { [deadlineClock] in deadlineClock.now() } }

    /// The policy pipeline for a session that began with `configuration`.
    func pipeline(_ configuration: ServerConfiguration) -> PolicyPipeline {
        PolicyPipeline(ruleSet: configuration.ruleSet, greylist: configuration.greylist, store: greylistStore,
                       headerWindow: configuration.limits.headerWindow, bodyInspection: configuration.limits.bodyInspection,
                       content: ContentInspection(limits: configuration.limits, detectors: configuration.ruleSet.detectors,
                                                  sniffer: SharedSniffer.instance, pool: pool),
                       resolver: resolver, reverseDNSTimeout: configuration.limits.reverseDNSTimeout,
                       authentication: AuthenticationStep(resolver: resolver, budget: configuration.dnsBudget, hostname: configuration.hostname,
                                                          signers: configuration.dkimSigners),
                       pool: pool, metrics: metrics, now: clock)
    }
}
