/// The protocol stages at which rules run, in order.
public enum Stage: String, Hashable, Sendable, CaseIterable, Comparable {
    case connect, helo, mail, rcpt, data, header, body, eom

    public static func < (lhs: Stage, rhs: Stage) -> Bool {
        lhs.ordinal < rhs.ordinal
    }

    /// The stage's place in the order (0 for connect).
    public var ordinal: Int {
        switch self {
        case .connect: return 0
        case .helo: return 1
        case .mail: return 2
        case .rcpt: return 3
        case .data: return 4
        case .header: return 5
        case .body: return 6
        case .eom: return 7
        }
    }
}

/// What a rule condition can look at. Each field is known from a stage on.
public enum Field: Hashable, Sendable, CustomStringConvertible {
    case client, clientName, clientNameUnverified, helo, sender, senderDomain, rcpt, rcptDomain, header(String), body, authUser, authDomain
    case size, rcptCount, dnsblScore
    /// Email authentication results (`spf = fail`): a `temperror` is a failed lookup.
    case spf, spfHelo, dkim, dkimDomain, dmarc, dmarcPolicy
    /// The message decoded (header stage: the header fields; body stage: the MIME structure).
    case headerRaw(String), partHeader(String), bodyRaw
    case attachmentName, attachmentType, attachmentMagic, attachmentSize, mimeParts, mimeDepth

    public static let names: [String: Field] = [
        "client": .client, "client.name": .clientName, "client.name.unverified": .clientNameUnverified, "helo": .helo, "sender": .sender, "sender.domain": .senderDomain,
        "rcpt": .rcpt, "rcpt.domain": .rcptDomain, "body": .body, "auth.user": .authUser, "auth.domain": .authDomain, "size": .size, "rcpt.count": .rcptCount, "dnsbl.score": .dnsblScore,
        "spf": .spf, "spf.helo": .spfHelo, "dkim": .dkim, "dkim.domain": .dkimDomain, "dmarc": .dmarc, "dmarc.policy": .dmarcPolicy,
        "body.raw": .bodyRaw, "attachment.name": .attachmentName, "attachment.type": .attachmentType,
        "attachment.magic": .attachmentMagic, "attachment.size": .attachmentSize, "mime.parts": .mimeParts, "mime.depth": .mimeDepth,
    ]

    /// The fields that take a header name (`header "Subject"`, `header.raw "Subject"`, `part.header "Content-Type"`).
    public static let headerFieldWords = ["header", "header.raw", "part.header"]

    /// The values an authentication result field can have (checked at load: `spf = fial` is an error).
    public var resultValues: [String]? {
        switch self {
        case .spf, .spfHelo: return SPFResult.allCases.map(\.rawValue)
        case .dkim: return DKIMOutcome.results
        case .dmarc: return DMARCResult.allCases.map(\.rawValue)
        case .dmarcPolicy: return DMARCPolicy.allCases.map(\.rawValue)
        default: return nil
        }
    }

    /// The first stage at which the field has a value.
    public var firstStage: Stage {
        switch self {
        case .client, .clientName, .clientNameUnverified, .dnsblScore: return .connect
        case .helo: return .helo
        case .sender, .senderDomain, .authUser, .authDomain, .size, .spf, .spfHelo: return .mail
        case .rcpt, .rcptDomain, .rcptCount: return .rcpt
        case .header, .headerRaw: return .header
        case .body, .bodyRaw, .partHeader, .attachmentName, .attachmentType, .attachmentMagic, .attachmentSize, .mimeParts, .mimeDepth:
            return .body
        case .dkim, .dkimDomain, .dmarc, .dmarcPolicy: return .eom
        }
    }

    /// Stages after which the field no longer has a single value (`rcpt` is per recipient).
    public func isAvailable(in stage: Stage) -> Bool {
        guard stage >= firstStage else { return false }
        switch self {
        case .rcpt, .rcptDomain: return stage == .rcpt
        case .body, .bodyRaw, .partHeader, .attachmentName, .attachmentType, .attachmentMagic, .attachmentSize, .mimeParts, .mimeDepth:
            return stage == .body || stage == .eom
        default: return true
        }
    }

    /// The header name of `header`, `header.raw` and `part.header` fields (lower-cased).
    public var headerName: String? {
        switch self {
        case .header(let name), .headerRaw(let name), .partHeader(let name): return name
        default: return nil
        }
    }

    /// Fields read from inside the message (its header fields, decoded text and MIME structure): only a
    /// rule that reads one of them makes the message step parse the message.
    public var isContent: Bool {
        switch self {
        case .header, .headerRaw, .partHeader, .body, .bodyRaw, .attachmentName, .attachmentType, .attachmentMagic,
             .attachmentSize, .mimeParts, .mimeDepth:
            return true
        default:
            return false
        }
    }

    /// Fields with one value per attachment: a test holds when it holds for any of them.
    public var isMultiValued: Bool {
        self == .attachmentName || self == .attachmentType || self == .attachmentMagic
    }

    public var isNumeric: Bool {
        switch self {
        case .size, .rcptCount, .dnsblScore, .attachmentSize, .mimeParts, .mimeDepth: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .header(let name): return "header \"\(name)\""
        case .headerRaw(let name): return "header.raw \"\(name)\""
        case .partHeader(let name): return "part.header \"\(name)\""
        default: return Self.names.first { $0.value == self }?.key ?? "?"
        }
    }
}
