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
    /// Octets of the header block Sluice takes (`limit header-size`): the header rules see all of it and
    /// header edits can rewrite it; a longer header block is refused (`552 5.3.4`).
    public var headerWindow: Int = 1024 * 1024
    /// Decoded octets of each text part the body rules look at, and raw body octets `body.raw` sees
    /// (`limit body-inspection`); what lies beyond is `bodyInspectionOverflow`'s business.
    public var bodyInspection: Int = 1024 * 1024
    public var bodyInspectionOverflow: OverflowAction = .pass
    /// MIME parts looked at (`limit mime-parts`) and the deepest nesting followed (`limit mime-depth`).
    public var mimeParts: Int = 500
    public var mimePartsOverflow: OverflowAction = .pass
    public var mimeDepth: Int = 20
    public var mimeDepthOverflow: OverflowAction = .pass
    /// Decoded octets of each attachment kept for sniffing and archive listing (`limit attachment-scan`),
    /// and archive members listed (`limit archive-members`).
    public var attachmentScan: Int = 8 * 1024 * 1024
    public var archiveMembers: Int = 1000
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

/// What happens to a message part of which lies beyond an inspection limit (`overflow pass|defer|reject`).
public enum OverflowAction: String, Hashable, Sendable, CaseIterable {
    /// Inspect what is within the limit, log and count the rest (default).
    case pass
    /// `451 4.7.1`: the sender tries again (an operator may raise the limit meanwhile).
    case `defer`
    /// `552 5.3.4` (too long to inspect) or `554 5.6.0` (too many parts, too deep).
    case reject
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
