import SluiceSMTP

/// Where a rule was written, for every log line about it and for `sluice explain`.
public struct RuleLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// What a rule does when its condition holds.
public enum RuleAction: Sendable {
    // Terminal: end the stage.
    case accept
    case reject(SMTPReply)
    case tempfail(SMTPReply)
    case greylist
    case discard
    case disconnect(SMTPReply)
    // Non-terminal: collect and go on.
    case addHeader(String, String)
    case replaceHeader(String, String)
    case removeHeader(String)
    case tag(String)
    case log(String)
    /// `bcc "ADDRESS"`: one more recipient for the message (a journal copy), decided at its end.
    case addRecipient(ForwardPath)
    /// `redirect "ADDRESS"`: the message goes to this recipient instead of the client's.
    case redirect(ForwardPath)

    /// What the action decides when it fires: `.proceed` for the non-terminal ones.
    public var verdict: Verdict {
        switch self {
        case .accept: return .accept
        case .reject(let reply): return .reject(reply)
        case .tempfail(let reply): return .tempfail(reply)
        case .greylist: return .greylist
        case .discard: return .discard
        case .disconnect(let reply): return .disconnect(reply)
        case .addHeader, .replaceHeader, .removeHeader, .tag, .log, .addRecipient, .redirect: return .proceed
        }
    }

    public var isTerminal: Bool { verdict != .proceed }

    /// `sign NAME` is a tag of the transaction that the message step reads (a tag a rule could not
    /// write: tag names are words, without ':').
    public static func signingTag(_ name: String) -> String { "dkim-sign:" + name }


    public var verb: String {
        switch self {
        case .addHeader: return "add"
        case .replaceHeader: return "replace"
        case .removeHeader: return "remove"
        case .tag: return "tag"
        case .log: return "log"
        case .addRecipient: return "bcc"
        case .redirect: return "redirect"
        default: return verdict.name
        }
    }
}

/// One compiled rule.
public struct Rule: Sendable {
    public var stage: Stage
    public var action: RuleAction
    public var condition: Condition?
    /// `tag NAME` options: tags set when the rule fires.
    public var tags: [String]
    /// `mode=observe`: evaluated, logged and counted, no effect.
    public var observe: Bool
    public var location: RuleLocation
    /// The rule as written, for explanations.
    public var text: String
    /// The result fields whose failure the rule tests itself (`spf = temperror` anywhere in it): for
    /// this rule they are plain values, so it never defers on them.
    public let handledFailures: Set<Field>

    public init(stage: Stage, action: RuleAction, condition: Condition?, tags: [String] = [], observe: Bool = false,
                location: RuleLocation, text: String) {
        self.stage = stage
        self.action = action
        self.condition = condition
        self.tags = tags
        self.observe = observe
        self.location = location
        self.text = text
        self.handledFailures = condition?.failuresTested ?? []
    }
}

/// The outcome of a stage.
public enum Verdict: Hashable, Sendable {
    /// No terminal rule fired: relay the command upstream.
    case proceed
    /// `accept`: skip the rest of this stage; the upstream still has its say.
    case accept
    case reject(SMTPReply)
    case tempfail(SMTPReply)
    case greylist
    /// Accept from the client, never send upstream.
    case discard
    case disconnect(SMTPReply)

    public var name: String {
        switch self {
        case .proceed: return "proceed"
        case .accept: return "accept"
        case .reject: return "reject"
        case .tempfail: return "defer"
        case .greylist: return "greylist"
        case .discard: return "discard"
        case .disconnect: return "disconnect"
        }
    }
}
