import NIOCore
import SluicePolicy
import SluiceSMTP

/// Where in the dialogue the session asks for a policy decision.
public enum PolicyPoint: String, Hashable, Sendable {
    case connect, helo, mail, rcpt, data
    /// The whole message after its final dot: the header, body and eom stages together.
    case message

    /// The rule stages this point runs.
    public var stages: [Stage] {
        switch self {
        case .connect: return [.connect]
        case .helo: return [.helo]
        case .mail: return [.mail]
        case .rcpt: return [.rcpt]
        case .data: return [.data]
        case .message: return [.header, .body, .eom]
        }
    }
}

/// What the session asks of the policy pipeline: the point in the dialogue and what is known there.
public struct PolicyRequest: Hashable, Sendable {
    public var point: PolicyPoint
    public var facts: Facts
    /// The recipients the upstream accepted so far (at data: the keys of per-message greylisting).
    public var recipients: [ForwardPath]

    public init(point: PolicyPoint, facts: Facts, recipients: [ForwardPath] = []) {
        self.point = point
        self.facts = facts
        self.recipients = recipients
    }
}

/// A refusal recorded at RCPT and answered at DATA (per-message greylisting): the longest wait wins.
public struct DeferredRefusal: Hashable, Sendable {
    public var retryAfter: Int64
    public var reply: SMTPReply

    public init(retryAfter: Int64, reply: SMTPReply) {
        self.retryAfter = retryAfter
        self.reply = reply
    }
}

/// What the policy pipeline decided for one request: every step (facts, relay hygiene, rules,
/// greylisting) has had its say. Only what a session can act on is left: a greylist verdict has become
/// a pass or a refusal, a failed check a refusal or a pass as its `on-error` says.
public struct PolicyDecision: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable {
        /// Go on: relay the command upstream (or, for the message, send it).
        case proceed
        /// Tell the client 250, never send the message upstream.
        case discard
        /// Answer the client with this reply (4xx or 5xx) and stay at this point.
        case refuse(SMTPReply)
        /// Answer with this reply and close.
        case disconnect(SMTPReply)
    }

    public var verdict: Verdict
    /// Tags the rules set (they last the session from connect and helo, the transaction from mail on).
    public var tags: [String] = []
    /// What to log about this decision (each names its rule).
    public var notes: [PolicyNote] = []
    /// The message: header edits to apply on the way upstream, and the header block they apply to.
    public var headerEdits: [HeaderEdit] = []
    public var header: MessageHeader?
    /// The message: recipients `bcc` adds and `redirect` puts in place of the client's.
    public var routing = RecipientRouting()
    /// A fact a step learned that later points use (the client's reverse DNS name, at connect).
    public var clientName: String?
    /// What SPF found at MAIL (the transaction keeps it for the message's rules and trace fields).
    public var authentication: Authentication?
    /// Fields written above Sluice's `Received:` (Received-SPF, Authentication-Results), at the message.
    public var traceFields: [HeaderField] = []
    /// Per-message greylisting at RCPT: the recipient goes on, DATA gets this refusal.
    public var deferral: DeferredRefusal?
    /// The DNS and authentication facts the pipeline looked up for this point, described (only when it
    /// traces, for `sluice explain`).
    public var lookedUp: [String] = []
    /// Every rule considered, stage by stage (only when the pipeline traces, for `sluice explain`).
    public var trace: [StageTrace] = []

    public init(_ verdict: Verdict, tags: [String] = [], notes: [PolicyNote] = []) {
        self.verdict = verdict
        self.tags = tags
        self.notes = notes
    }

    public static let proceed = PolicyDecision(.proceed)
}
