import SluicePolicy
import SluiceSMTP

/// What a session needs to know about the server it belongs to.
public struct SessionConfiguration: Sendable {
    public var hostname: String
    public var limits: Limits
    public var ruleSet: RuleSet
    public var greylist: GreylistSettings
    /// STARTTLS is offered (a certificate is configured).
    public var tlsAvailable = false
    /// Offer and relay AUTH without TLS on the client side (`auth plaintext allow`); off by default.
    public var allowPlaintextAuth = false

    public init(hostname: String, limits: Limits = Limits(), ruleSet: RuleSet = .empty, greylist: GreylistSettings = GreylistSettings()) {
        self.hostname = hostname
        self.limits = limits
        self.ruleSet = ruleSet
        self.greylist = greylist
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
public struct Transaction: Hashable, Sendable {
    public var sender: ReversePath
    public var parameters: ESMTPParameters
    /// Recipients the upstream accepted; the message goes to these only.
    public var recipients: [ForwardPath] = []
    /// RCPT commands refused (by Sluice or the upstream).
    public var refusedRecipients = 0
    /// Tags set by rules from stage mail on.
    public var tags: Set<String> = []
    /// A `discard` rule fired: the client gets 250, the upstream never gets the message.
    public var discard = false
    /// Per-message greylisting: a recipient's key was new (or not yet due); DATA gets the 451, once.
    public var greylistRetryAfter: Int64?

    public init(sender: ReversePath, parameters: ESMTPParameters) {
        self.sender = sender
        self.parameters = parameters
    }
}

/// Why the upstream can no longer answer.
public enum UpstreamFailure: Hashable, Sendable {
    case connectFailed(String)
    case closed
    case timedOut
    case protocolError(String)
}

/// Which upstream timeout applies to a command that was sent.
public enum UpstreamWait: Hashable, Sendable {
    case command
    case endOfData
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

/// What the greylist store said about the keys of one check.
public enum GreylistResult: Hashable, Sendable {
    /// Every key passed.
    case pass
    /// At least one key is deferred; the longest wait.
    case deferred(retryAfter: Int64)
    /// The store failed or timed out: `greylist on-error` decides.
    case storeFailed
}

/// What the channel handler must do. Replies are buffered and flushed when the handler runs out of
/// work, so a pipelined group gets its replies in one write.
public enum SessionAction: Hashable, Sendable {
    /// Write this reply to the client.
    case reply(SMTPReply)
    /// Send this command upstream and wait for its reply.
    case forward(SMTPCommand, UpstreamWait)
    /// Send one AUTH response line upstream verbatim (never logged) and wait for its reply.
    case forwardAuthResponse(String)
    /// Client input is now message content until CRLF.CRLF (a 354 was just queued).
    case receiveData
    /// Connect to the upstream (the connect stage let the client in).
    case connectUpstream
    /// The 220 for STARTTLS was just queued: flush it, drop every byte the client sent after STARTTLS,
    /// and start the TLS handshake (server side).
    case startTLS
    /// Ask the greylist store about these keys and report with `greylistDecided`.
    case checkGreylist([GreylistKey])
    /// Look up the client's reverse DNS name (rules use `client.name`) and report with `clientNameResolved`.
    case resolveClientName
    /// Run the content rules (header, body, eom) on the spooled message and report with `contentInspected`.
    case inspectContent(Facts)
    /// Write the trace header, the spooled message (with header edits) and the final dot upstream, then wait.
    case sendMessage(greeting: Greeting, transaction: Transaction, headerEdits: [HeaderEdit])
    /// Log these rule decisions.
    case policy([PolicyNote])
    /// Release the spooled message.
    case discardMessage
    /// Log how a transaction ended.
    case outcome(TransactionOutcome)
    /// Flush replies and close the client and the upstream connections.
    case close
}

extension Array where Element == SessionAction {
    /// These actions, then `next`: no new array when there are none before (the usual case: no log notes).
    func then(_ next: [SessionAction]) -> [SessionAction] {
        isEmpty ? next : self + next
    }
}
