import SluicePolicy
import SluiceSMTP

/// What a session needs to know about the server it belongs to: the part of the composed
/// `ServerConfiguration` that shapes every dialogue (the server keeps it inside, never a copy).
public struct SessionConfiguration: Sendable {
    public var hostname: String
    public var limits: Limits
    public var ruleSet: RuleSet
    public var greylist: GreylistSettings
    /// How long the upstream may take to answer.
    public var upstreamTimeouts = UpstreamTimeouts()
    /// What a bare CR or LF in DATA gets.
    public var bareLineEndings: BareLineEndingPolicy = .reject
    /// STARTTLS is offered (a certificate is configured).
    public var tlsAvailable = false
    /// Offer and relay AUTH without TLS on the client side (`auth plaintext allow`); off by default.
    public var allowPlaintextAuth = false
    /// Clients the per-client flood limits and the greeting checks leave alone (`limit exempt LIST`;
    /// loopback by default, as Postfix exempts $mynetworks).
    public var exempt: [CIDR] = [CIDR("127.0.0.0/8")!, CIDR("::1")!]
    /// Clients that may send XCLIENT (`xclient from LIST`); none by default.
    public var xclientFrom: [CIDR] = []
    /// Sluice introduces the real client to an upstream that offers XCLIENT or XFORWARD
    /// (`upstream … xclient off` turns it off).
    public var introduceClient = true

    public init(hostname: String, limits: Limits = Limits(), ruleSet: RuleSet = .empty, greylist: GreylistSettings = GreylistSettings()) {
        self.hostname = hostname
        self.limits = limits
        self.ruleSet = ruleSet
        self.greylist = greylist
    }
}

/// Who the client is, as far as Sluice knows: for rules, logs and the trace header.
public struct ClientIdentity: Hashable, Sendable {
    /// The address as text, and parsed once (nil when it is not an IP address).
    public var address: String
    public var ip: IPAddress?
    /// The client's TCP port (for logs; XCLIENT will carry it).
    public var port: Int?
    /// The session's id in logs and in the trace header.
    public var sessionID: String
    /// The reverse DNS name, once a policy step looked it up and found one.
    public var name: String?
    /// `TLSv1.3 with cipher …` once the client's TLS handshake completed.
    public var tls: String?
    /// The client is on the exempt list: no per-client limits, no greeting delay or pregreet test.
    public var exempt = false
    /// What XCLIENT said beyond the address: the HELO name and protocol it reported, and where the
    /// client connected to (for the upstream's XCLIENT and the logs).
    public var xclientHelo: String?
    /// The client's name as an XCLIENT from a listed host gave it (the trace header writes it).
    public var vouchedName: String?
    public var xclientProto: String?

    public init(address: String, port: Int? = nil, sessionID: String = "") {
        self.address = address
        self.ip = IPAddress(address)
        self.port = port
        self.sessionID = sessionID
    }
}

/// How the client's message content is read: the limits the DATA decoder enforces.
public struct MessageLimits: Hashable, Sendable {
    public var maxLineLength: Int
    /// The size enforced (and advertised in SIZE): Sluice's limit, or the upstream's if smaller.
    public var maxSize: Int
    public var bareLineEndings: BareLineEndingPolicy

    public init(maxLineLength: Int, maxSize: Int, bareLineEndings: BareLineEndingPolicy) {
        self.maxLineLength = maxLineLength
        self.maxSize = maxSize
        self.bareLineEndings = bareLineEndings
    }
}

/// The client's HELO/EHLO, once the upstream accepted it.
public struct Greeting: Hashable, Sendable {
    public var name: String
    public var extended: Bool

    public init(name: String, extended: Bool) {
        self.name = name
        self.extended = extended
    }
}

/// One mail transaction: from MAIL to the end of the message, RSET or a new EHLO.
///
/// A value with its fields in one copy-on-write box: the session's states carry it, and every state
/// change copies the state, so a copy is one retain instead of one per field.
public struct Transaction: Hashable, Sendable {
    private final class Storage: @unchecked Sendable {
        var sender: ReversePath
        var parameters: ESMTPParameters
        let declaredSize: Int?
        var recipients: [ForwardPath] = []
        var refusedRecipients = 0
        var tags: Set<String> = []
        var discard = false
        var deferral: DeferredRefusal?
        var authentication = Authentication()

        init(sender: ReversePath, parameters: ESMTPParameters) {
            self.sender = sender
            self.parameters = parameters
            self.declaredSize = parameters.size
        }

        func copy() -> Storage {
            let copy = Storage(sender: sender, parameters: parameters)
            copy.recipients = recipients
            copy.refusedRecipients = refusedRecipients
            copy.tags = tags
            copy.discard = discard
            copy.deferral = deferral
            copy.authentication = authentication
            return copy
        }
    }

    private var storage: Storage

    public init(sender: ReversePath, parameters: ESMTPParameters) {
        storage = Storage(sender: sender, parameters: parameters)
    }

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public var sender: ReversePath {
        get { storage.sender }
        set { unique().sender = newValue }
    }
    public var parameters: ESMTPParameters {
        get { storage.parameters }
        set { unique().parameters = newValue }
    }
    /// `SIZE=` of the MAIL command, looked up once (every stage's facts carry it).
    public var declaredSize: Int? { storage.declaredSize }
    /// Recipients the upstream accepted; the message goes to these only.
    public var recipients: [ForwardPath] {
        get { storage.recipients }
        set { unique().recipients = newValue }
    }
    /// RCPT commands refused (by Sluice or the upstream).
    public var refusedRecipients: Int {
        get { storage.refusedRecipients }
        set { unique().refusedRecipients = newValue }
    }
    /// Tags set by rules from stage mail on.
    public var tags: Set<String> {
        get { storage.tags }
        set { unique().tags = newValue }
    }
    /// A `discard` rule fired: the client gets 250, the upstream never gets the message.
    public var discard: Bool {
        get { storage.discard }
        set { unique().discard = newValue }
    }
    /// Per-message greylisting: a recipient's key was new (or not yet due); DATA gets the 451, once.
    public var deferral: DeferredRefusal? {
        get { storage.deferral }
        set { unique().deferral = newValue }
    }

    /// What SPF found at MAIL (the message's rules and trace fields read it).
    public var authentication: Authentication {
        get { storage.authentication }
        set { unique().authentication = newValue }
    }

    /// Adds tags in place (a `tags` setter would copy the set first).
    public mutating func insertTags(_ more: Set<String>) {
        guard !more.isEmpty else { return }
        unique().tags.formUnion(more)
    }

    public mutating func insertTags(_ more: [String]) {
        guard !more.isEmpty else { return }
        unique().tags.formUnion(more)
    }

    /// Adds a recipient the upstream accepted, in place.
    public mutating func appendRecipient(_ recipient: ForwardPath) {
        unique().recipients.append(recipient)
    }

    public static func == (lhs: Transaction, rhs: Transaction) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.sender == rhs.sender && lhs.parameters == rhs.parameters && lhs.recipients == rhs.recipients
                && lhs.refusedRecipients == rhs.refusedRecipients && lhs.tags == rhs.tags && lhs.discard == rhs.discard
                && lhs.deferral == rhs.deferral && lhs.authentication == rhs.authentication)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sender)
        hasher.combine(recipients)
        hasher.combine(refusedRecipients)
    }
}

/// Why the upstream can no longer answer.
public enum UpstreamFailure: Hashable, Sendable {
    case connectFailed(String)
    case closed
    case timedOut
    case protocolError(String)
}

/// How a transaction ended, for the one log line it gets.
public struct TransactionOutcome: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case delivered, refused, failed, discarded
    }
    public var status: Status
    public var greeting: Greeting
    public var transaction: Transaction
    public var size: Int
    public var reply: SMTPReply
}

/// A line about a rule decision, for the log: every decision names the rule's file:line.
public struct PolicyNote: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// A terminal rule decided the stage.
        case decision
        /// A `mode=observe` rule matched: what it would have done.
        case observed
        /// A `log "text"` rule fired.
        case log
        /// A pattern hit its match limit: the stage tempfailed.
        case limitExceeded
    }

    public var kind: Kind
    public var stage: Stage
    public var rule: RuleLocation?
    /// The verdict's name (`reject`, `defer`, …; for `observed`, what it would have been).
    public var verdict: String
    public var text: String
}

/// What the channel handler must do. Replies are buffered and flushed when the handler runs out of
/// work, so a pipelined group gets its replies in one write.
public enum SessionAction: Hashable, Sendable {
    /// Write this reply to the client.
    case reply(SMTPReply)
    /// Relay this command to the upstream; its reply comes back through `upstreamReplied`.
    case forward(SMTPCommand)
    /// Relay one AUTH response line to the upstream verbatim (never logged).
    case forwardAuthResponse(String)
    /// Close the upstream's transaction (a refused or discarded message); its reply is not relayed.
    case resetUpstream
    /// Client input is now message content until CRLF.CRLF (a 354 was just queued).
    case receiveMessage(MessageLimits)
    /// Connect to the upstream (the connect stage let the client in).
    case connectUpstream
    /// Wait this many seconds before greeting (and before connecting upstream), then report with
    /// `greetDelayElapsed`; a client that talks meanwhile is refused.
    case delayGreeting(Double)
    /// The 220 for STARTTLS was just queued: flush it, drop every byte the client sent after STARTTLS,
    /// and start the TLS handshake (server side).
    case startTLS
    /// Ask the policy pipeline; its answer comes back through `policyDecided`. (The large payloads are
    /// boxed: every array of actions and every copy of one stays small.)
    indirect case evaluate(PolicyRequest)
    /// Send the spooled message upstream as the plan says, then wait for the upstream's reply.
    indirect case sendMessage(MessagePlan)
    /// Log these rule decisions.
    case policy([PolicyNote])
    /// Release the spooled message.
    case discardMessage
    /// Log how a transaction ended.
    indirect case outcome(TransactionOutcome)
    /// Flush replies and close the client and the upstream connections.
    case close(SessionEnd)
}

/// Why a session ended: a bounded label for logs and `sluice_sessions_closed_total{reason}`.
public enum SessionEnd: String, Sendable, CaseIterable {
    /// The client said QUIT.
    case quit
    /// The client closed its connection or it was lost.
    case clientGone = "client-gone"
    /// Idle, or too slow with a command or its message.
    case timeout
    /// The server is stopping.
    case shutdown
    /// A connection or message limit.
    case limit
    /// The client talked before the greeting.
    case pregreet
    /// The upstream was unreachable or lost.
    case upstream
    /// A rule disconnected the client.
    case policy
    /// Too many errors.
    case errors
    /// A TLS handshake or record failed.
    case tls
    /// A PROXY header was missing, malformed or from a source not listed.
    case proxy
    /// A network error on the client's connection.
    case error
}

extension Array where Element == SessionAction {
    /// These actions, then `next`: no new array when there are none before (the usual case: no log notes).
    func then(_ next: [SessionAction]) -> [SessionAction] {
        isEmpty ? next : self + next
    }
}
