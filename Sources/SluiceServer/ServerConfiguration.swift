import Foundation
import NIOCore
import SluiceConfig
import SluiceDNS
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// Everything the server needs to run, whether it came from flags or a configuration file: one
/// composed value. What shapes each dialogue (hostname, limits, timeouts, rules, greylisting) is its
/// `session` part, which every session takes as it is; the rest is the server's own.
public struct ServerConfiguration: Sendable {
    public var listen: [Endpoint]
    public var upstream: Endpoint
    public var spoolDirectory: String
    /// The dialogue's settings.
    public var session: SessionConfiguration
    /// Event loop threads (`--threads`).
    public var threads: Int = 1
    /// TLS for clients: STARTTLS is offered when set; implicit-TLS listeners need it.
    public var tls: TLSContext? { didSet { session.tlsAvailable = tls != nil } }
    public var implicitTLS: Set<Endpoint> = []
    public var tlsRequiredOn: Set<Endpoint> = []
    /// Listeners that take a PROXY header first, from these networks only.
    public var proxyProtocol: [Endpoint: [CIDR]] = [:]
    public var tlsRequiredEverywhere = false
    /// TLS towards the upstream, and the client context it uses (SNI, verification).
    public var upstreamTLSMode: UpstreamTLSMode = .none
    public var upstreamTLS: TLSContext?
    /// The greylist store (opened at start when a rule greylists).
    public var greylistStore: (any GreylistStore)?
    /// Seconds since 1970 (greylisting); tests inject a manual clock.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    /// The monotonic time of every timeout (client, upstream); tests move a manual one.
    public var deadlineClock: DeadlineClock = .system
    /// The PTR name of a client (blocking; runs on the lookup pool). Tests put a slow one here.
    /// `dns server HOST:PORT` (as libunbound's `ADDR@PORT`); empty: /etc/resolv.conf (and /etc/hosts).
    public var dnsServers: [String] = []
    /// `dns timeout DURATION`: each lookup's deadline.
    public var dnsTimeout: Double = 5
    /// `dkim sign NAME …`: the signers a rule's `sign NAME` picks, keys loaded.
    public var dkimSigners: [String: DKIMSigner] = [:]
    /// `dns budget DURATION`: all the lookups of one SPF, DKIM or DMARC check together.
    public var dnsBudget: Double = 10
    /// Seconds open sessions may go on after SIGTERM before they are told `421 4.3.2`.
    public var shutdownGrace: Double = 30
    /// `metrics listen ADDR`: Prometheus text on /metrics, and /healthz and /readyz (nil: not served).
    public var metricsListen: Endpoint?
    /// `user NAME`: the account to switch to once listeners are bound (the command line does it).
    public var user: String?
    /// `pid-file FILE` or `--pid-file`: where the process id is written once listening.
    public var pidFile: String?
    /// `log format text|json` (the command line applies it).
    public var logFormat: LogFormat = .text

    public init(listen: [Endpoint], upstream: Endpoint, hostname: String, spoolDirectory: String) {
        self.listen = listen
        self.upstream = upstream
        self.session = SessionConfiguration(hostname: hostname)
        self.spoolDirectory = spoolDirectory
    }

    // The session part, by name (so `configuration.limits` reads as it always did).
    public var hostname: String { get { session.hostname } set { session.hostname = newValue } }
    public var limits: Limits { get { session.limits } set { session.limits = newValue } }
    public var upstreamTimeouts: UpstreamTimeouts { get { session.upstreamTimeouts } set { session.upstreamTimeouts = newValue } }
    public var bareLineEndings: BareLineEndingPolicy { get { session.bareLineEndings } set { session.bareLineEndings = newValue } }
    public var ruleSet: RuleSet { get { session.ruleSet } set { session.ruleSet = newValue } }
    public var greylist: GreylistSettings { get { session.greylist } set { session.greylist = newValue } }
    /// Offer and relay AUTH to clients without TLS (`auth-plaintext allow`).
    public var allowPlaintextAuth: Bool { get { session.allowPlaintextAuth } set { session.allowPlaintextAuth = newValue } }
}
