import Foundation
import NIOCore
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// Everything the server needs to run, whether it came from flags or a configuration file.
public struct ServerConfiguration: Sendable {
    public var listen: [Endpoint]
    public var upstream: Endpoint
    public var hostname: String
    public var spoolDirectory: String
    public var limits = Limits()
    public var upstreamTimeouts = UpstreamTimeouts()
    public var bareLineEndings: BareLineEndingPolicy = .reject
    /// Event loop threads (`--threads`).
    public var threads: Int = 1
    /// The compiled rules.
    public var ruleSet = RuleSet.empty
    /// TLS for clients: STARTTLS is offered when set; implicit-TLS listeners need it.
    public var tls: TLSContext?
    public var implicitTLS: Set<Endpoint> = []
    public var tlsRequiredOn: Set<Endpoint> = []
    public var tlsRequiredEverywhere = false
    /// Offer and relay AUTH to clients without TLS (`auth-plaintext allow`).
    public var allowPlaintextAuth = false
    /// TLS towards the upstream, and the client context it uses (SNI, verification).
    public var upstreamTLSMode: UpstreamTLSMode = .none
    public var upstreamTLS: TLSContext?
    /// Greylisting settings and the store (opened at start when a rule greylists).
    public var greylist = GreylistSettings()
    public var greylistStore: (any GreylistStore)?
    /// Seconds since 1970 (greylisting); tests inject a manual clock.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    /// The monotonic time of every timeout (client, upstream); tests move a manual one.
    public var deadlineClock: DeadlineClock = .system
    /// The PTR name of a client (blocking; runs on the lookup pool). Tests put a slow one here.
    public var reverseDNS: @Sendable (SocketAddress) -> String? = { ReverseDNS.name(of: $0) }
    /// Seconds open sessions may go on after SIGTERM before they are told `421 4.3.2`.
    public var shutdownGrace: Double = 30

    public init(listen: [Endpoint], upstream: Endpoint, hostname: String, spoolDirectory: String) {
        self.listen = listen
        self.upstream = upstream
        self.hostname = hostname
        self.spoolDirectory = spoolDirectory
    }
}
