import SluicePolicy
import SluiceSMTP

/// Everything a configuration file says. Settings the file leaves out stay nil (or default) so the
/// command line and built-in defaults can fill them in.
public struct Configuration: Sendable {
    public var listen: [Endpoint] = []
    /// `listen ADDR tls` (implicit TLS, port 465 style) and `listen ADDR tls-required`.
    public var implicitTLS: Set<Endpoint> = []
    public var tlsRequiredOn: Set<Endpoint> = []
    /// `listen ADDR proxy-protocol from LIST`: the balancers a PROXY header is accepted from.
    public var proxyProtocol: [Endpoint: [CIDR]] = [:]
    /// `limit tls-required on`: every listener requires TLS before MAIL.
    public var tlsRequiredEverywhere = false
    /// `auth-plaintext allow`: offer AUTH to clients without TLS.
    public var allowPlaintextAuth = false
    /// `tls certificate FILE key FILE [ciphers "LIST"]` (paths resolved against the file).
    public var tls: TLSSettings?
    public var upstream: Endpoint?
    /// `upstream HOST:PORT [starttls|starttls-required|tls] [verify|no-verify] [ca FILE] [name NAME]`.
    public var upstreamTLS = UpstreamTLSSettings()
    public var hostname: String?
    public var spoolDirectory: String?
    public var threads: Int?
    public var limits = Limits()
    public var upstreamTimeouts = UpstreamTimeouts()
    public var shutdownGrace: Double?
    /// `metrics listen ADDR`: where /metrics, /healthz and /readyz are served (nil: not served).
    public var metricsListen: Endpoint?
    /// `log format text|json`.
    public var logFormat: LogFormat?
    /// `user NAME`: the account Sluice runs as once its listeners are bound.
    public var user: String?
    /// `pid-file FILE`: where the process id is written once listening (`--pid-file` overrides it).
    public var pidFile: String?
    /// `dns server HOST:PORT` (empty: /etc/resolv.conf) and `dns timeout` (per lookup).
    public var dnsServers: [Endpoint] = []
    public var dnsTimeout: Double?
    /// `dns budget`: all the lookups of one check (SPF with its includes, DKIM keys, DMARC) together.
    public var dnsBudget: Double?
    /// `dkim sign NAME domain "D" selector "S" key "FILE" [headers "a:b"]`, by name; a rule `sign NAME`
    /// decides which messages each signs. The key is loaded (and checked) when the server is composed.
    public var dkimSigners: [String: DKIMSigning] = [:]
    /// The built-in detectors and those of `detector NAME pcre /…/ [validate …]`, by name.
    public var detectors: [String: Detector] = Detector.builtins
    /// `xclient from LIST`: the hosts that may send XCLIENT.
    public var xclientFrom: [CIDR] = []
    /// `upstream … xclient on|off`: introduce the real client to an upstream that offers XCLIENT/XFORWARD.
    public var upstreamXCLIENT = true
    public var bareLineEndings: BareLineEndingPolicy = .reject
    /// The compiled rules of every `stage` block.
    public var ruleSet = RuleSet.empty
    /// Named lists, by name.
    public var lists: [String: NamedList] = [:]
    /// Greylisting settings (`greylist …`).
    public var greylist = GreylistSettings()
    /// Where greylisting state lives.
    public var greylistStore: GreylistStoreSpec = .sqlite("/var/lib/sluice/greylist.db")
    /// `limit exempt LIST`: the networks the per-client flood limits and greeting checks skip (nil: the
    /// default, loopback).
    public var exempt: [CIDR]?
    /// `acknowledge open-relay`: the administrator knows there is no relay control in the rules.
    public var openRelayAcknowledged = false
    /// Every file read, in order (the main file first, then includes).
    public var files: [String] = []
    /// Warnings found while loading (errors make loading fail).
    public var warnings: [Diagnostic] = []

    public init() {}
}

public struct UpstreamTLSSettings: Hashable, Sendable {
    /// none, starttls, starttls-required or tls.
    public var mode = "none"
    public var verify = true
    public var caFile: String?
    /// The name sent as SNI and checked against the certificate (default: the upstream's host).
    public var serverName: String?
}

public struct TLSSettings: Hashable, Sendable {
    public var certificate: String
    public var key: String
    public var ciphers: String?
}

/// `greylist store sqlite "PATH"` or `greylist store postgres "URL"`.
public enum GreylistStoreSpec: Hashable, Sendable {
    case sqlite(String)
    case postgres(String)
}

/// Values with units, as the configuration language writes them.
enum Quantity {
    /// `512`, `8K`, `25M`, `1G` (binary multiples).
    static func size(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let multipliers: [Character: Int] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024]
        if let multiplier = multipliers[Character(last.uppercased())] {
            guard let value = Int(text.dropLast()), value >= 0, value <= Int.max / multiplier else { return nil }
            return value * multiplier
        }
        guard let value = Int(text), value >= 0 else { return nil }
        return value
    }

    /// `30s`, `5m`, `48h`, `35d`; a plain number is seconds. Fractions allowed (`0.5s`).
    static func duration(_ text: String) -> Double? {
        guard let last = text.last else { return nil }
        let multipliers: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let multiplier = multipliers[last] {
            guard let value = Double(text.dropLast()), value >= 0, value.isFinite else { return nil }
            return value * multiplier
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        return value
    }
}

/// How log lines are written: Postfix-like text, or one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// One `dkim sign` statement.
public struct DKIMSigning: Hashable, Sendable {
    public var name: String
    public var domain: String
    public var selector: String
    public var keyFile: String
    /// The header fields to sign (nil: Sluice's default list, From over-signed).
    public var headers: [String]?
    /// `algorithm rsa-sha256|ed25519-sha256`: checked against the key (nil: the key's).
    public var algorithm: String?
    public var location: SourceLocation

    public init(name: String, domain: String, selector: String, keyFile: String, headers: [String]?, location: SourceLocation) {
        self.name = name
        self.domain = domain
        self.selector = selector
        self.keyFile = keyFile
        self.headers = headers
        self.location = location
    }
}
