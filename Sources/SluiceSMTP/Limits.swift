/// Every bound Sluice enforces on a client, in one place. Each one has a test.
public struct Limits: Hashable, Sendable {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512).
    public var commandLineLength: Int = 512
    /// Longest line inside DATA, CRLF not counted (RFC 5322 says 998; real mail is sloppier).
    public var dataLineLength: Int = 8192
    /// Largest message in octets as received (dot-stuffed, CRLF line ends); advertised in SIZE and enforced.
    public var messageSize: Int = 25 * 1024 * 1024
    /// Recipients per message.
    public var recipients: Int = 1000
    /// Errors per session before `421 4.7.0` and close.
    public var errors: Int = 10
    /// Seconds a client may stay silent while Sluice waits for it.
    public var idleTimeout: Double = 300
    /// Seconds a client may take to send one whole command line (bytes trickling in do not extend it).
    public var commandTime: Double = 300
    /// Slowest DATA accepted, in octets per second: a message gets `commandTime` plus one second per
    /// this many octets (Postfix's `smtpd_min_data_rate`).
    public var minimumDataRate: Int = 500
    /// Message octets held in memory before the spool moves to a temp file.
    public var memorySpoolThreshold: Int = 1024 * 1024
    /// Client bytes buffered ahead of the command being processed before Sluice stops reading.
    public var inputBuffer: Int = 64 * 1024
    /// Octets of the header block the header rules see (and header edits can rewrite).
    public var headerWindow: Int = 256 * 1024
    /// Body octets the body rules look at (`limit body-inspection`).
    public var bodyInspection: Int = 1024 * 1024
    /// Seconds the reverse DNS lookup of a client may take before `client.name` is taken as empty.
    public var reverseDNSTimeout: Double = 2

    // Holding floods off (checked before an upstream connection is opened; exempt clients, loopback by
    // default, skip the per-client ones). 0 turns a limit off.
    /// Open client sessions in all (`limit connections`).
    public var connections: Int = 1000
    /// Open sessions from one client (`limit connections-per-client`; Postfix's
    /// smtpd_client_connection_count_limit is 50 too).
    public var connectionsPerClient: Int = 50
    /// New connections from one client per minute (`limit connection-rate N/min`; off by default, as in Postfix).
    public var connectionRate: Int = 0
    /// Clients are counted per address, or per network (/24 for IPv4, /64 for IPv6) (`limit client-grouping`).
    public var groupClientsByNetwork = false
    /// Messages (MAIL commands the upstream accepted) per session (`limit messages-per-session`).
    public var messagesPerSession: Int = 0
    /// Seconds Sluice waits before greeting a client (`limit greet-delay`, postscreen's pregreet wait): a
    /// client that talks first is refused before any upstream connection is made.
    public var greetDelay: Double = 0

    public init() {}
}

/// How long Sluice waits for the upstream, in seconds.
public struct UpstreamTimeouts: Hashable, Sendable {
    public var connect: Double = 30
    public var command: Double = 300
    public var endOfData: Double = 600

    public init() {}
}

/// What to do with a bare CR or LF inside DATA.
public enum BareLineEndingPolicy: String, Hashable, Sendable {
    /// Refuse the message with 554 5.6.0 at the final dot (default).
    case reject
    /// Turn each bare CR or LF into CRLF (dot-stuffing any line it starts) and relay.
    case normalize
}
