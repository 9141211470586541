/// A rule's condition, compiled: patterns are compiled and lists resolved at load.
/// Header names in `Field.header` are stored lower-cased (the parser does it), so matching compares keys.
public indirect enum Condition: Sendable {
    case matches(Field, Pattern)
    case inList(Field, NamedList)
    case equals(Field, String)
    /// Two fields with the same value (`sender.domain = auth.domain`); false when either has none.
    case sameAs(Field, Field)
    case compare(Field, Comparison, Int)
    case tls
    case auth
    case tagged(String)
    /// `body has card-number`, `attachment has iban`: the detector found something there.
    case detects(DetectorScope, Detector)
    /// `count(card-number) > 3`: findings in the body and the attachments together.
    case detectorCount(Detector, Comparison, Int)
    /// `attachment.encrypted`: an archive with an encrypted member.
    case attachmentEncrypted
    case not(Condition)
    case and(Condition, Condition)
    case or(Condition, Condition)

    /// Where `has` looks: `body` is every text (the text parts and the textual attachments),
    /// `attachment` the attachments' text alone.
    public enum DetectorScope: String, Sendable { case body, attachment }

    public enum Comparison: String, Sendable {
        case greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<=", equal = "="

        func holds(_ lhs: Int, _ rhs: Int) -> Bool {
            switch self {
            case .greater: return lhs > rhs
            case .less: return lhs < rhs
            case .greaterOrEqual: return lhs >= rhs
            case .lessOrEqual: return lhs <= rhs
            case .equal: return lhs == rhs
            }
        }
    }

    /// Evaluates against `facts`; throws `Pattern.MatchLimitExceeded`, or `Facts.Unavailable` for a
    /// field whose lookup failed. A field with no value makes its test false (and `not` of it true).
    public func holds(for facts: Facts) throws -> Bool {
        switch self {
        case .matches(let field, let pattern) where field.headerName != nil:
            for header in facts.headerFields(of: field) where header.key == field.headerName {
                if try pattern.matches(header.value) { return true }
            }
            return false
        case .matches(.body, let pattern):
            for text in facts.content.bodyTexts where try pattern.matches(text) { return true }
            for text in facts.content.attachmentTexts where try pattern.matches(text) { return true }
            return false
        case .matches(.bodyRaw, let pattern):
            return try facts.body.withUnsafeBytes { bytes in try pattern.matches(bytes) }
        case .matches(let field, let pattern) where field.isMultiValued:
            for text in facts.texts(of: field) where try pattern.matches(text) { return true }
            return false
        case .matches(.dkimDomain, let pattern):
            try facts.requireKnown(.dkimDomain)
            for domain in facts.authentication.dkimDomains where try pattern.matches(domain) { return true }
            return false
        case .matches(let field, let pattern):
            try facts.requireKnown(field)
            guard let text = facts.text(of: field) else { return false }
            return try pattern.matches(text)
        case .inList(let field, let list) where field.headerName != nil:
            for header in facts.headerFields(of: field) where header.key == field.headerName {
                if try list.contains(header.value) { return true }
            }
            return false
        case .inList(let field, let list) where field.isMultiValued:
            for text in facts.texts(of: field) where try list.contains(text) { return true }
            return false
        case .inList(.dkimDomain, let list):
            try facts.requireKnown(.dkimDomain)
            for domain in facts.authentication.dkimDomains where try list.contains(domain) { return true }
            return false
        case .inList(let field, let list):
            if case .dnsbl(let dnsList) = list.items {
                guard field == .client || field == .helo || field == .senderDomain else { return false }
                return try facts.listed(in: dnsList, for: field)
            }
            try facts.requireKnown(field)
            guard let text = facts.text(of: field) else { return false }
            return try list.contains(text)
        case .equals(let field, let value) where field.headerName != nil:
            return facts.headerFields(of: field).contains { $0.key == field.headerName && $0.value == value }
        case .equals(let field, let value) where field.isMultiValued:
            // Types and kinds compare without case (`attachment.type = "application/PDF"`); names exactly.
            let folded = value.lowercased()
            return facts.texts(of: field).contains { field == .attachmentName ? $0 == value : $0.lowercased() == folded }
        case .equals(.dkimDomain, let value):
            try facts.requireKnown(.dkimDomain)
            let domains = facts.authentication.dkimDomains
            return value.isEmpty ? domains.isEmpty : domains.contains(value.lowercased())
        case .equals(let field, let value):
            try facts.requireKnown(field)
            guard let text = facts.text(of: field) else { return false }
            switch field {
            case .senderDomain, .rcptDomain, .helo, .clientName, .clientNameUnverified: return text.lowercased() == value.lowercased()
            default: return text == value
            }
        case .sameAs(let lhs, let rhs):
            try facts.requireKnown(lhs)
            try facts.requireKnown(rhs)
            guard let left = facts.text(of: lhs), let right = facts.text(of: rhs) else { return false }
            return left.lowercased() == right.lowercased()
        case .compare(.attachmentSize, let comparison, let value):
            return facts.content.attachments.contains { comparison.holds($0.size, value) }
        case .compare(let field, let comparison, let value):
            try facts.requireKnown(field)
            guard let number = facts.number(of: field) else { return false }
            return comparison.holds(number, value)
        case .tls: return facts.tls
        case .auth: return facts.authUser != nil
        case .tagged(let tag): return facts.tags.contains(tag)
        case .detects(let scope, let detector):
            let found = facts.content.detections[detector.name]
            return scope == .body ? (found?.total ?? 0) > 0 : (found?.attachments ?? 0) > 0
        case .detectorCount(let detector, let comparison, let value):
            return comparison.holds(facts.content.detections[detector.name]?.total ?? 0, value)
        case .attachmentEncrypted: return facts.content.attachments.contains { $0.encrypted }
        case .not(let inner): return try !inner.holds(for: facts)
        case .and(let lhs, let rhs):
            guard try lhs.holds(for: facts) else { return false }
            return try rhs.holds(for: facts)
        case .or(let lhs, let rhs):
            if try lhs.holds(for: facts) { return true }
            return try rhs.holds(for: facts)
        }
    }

    /// The result fields tested for `temperror` (the rule "says otherwise" about their failure).
    var failuresTested: Set<Field> {
        switch self {
        case .equals(.dmarc, "temperror"): return [.dmarc, .dmarcPolicy]
        case .equals(.dkim, "temperror"): return [.dkim, .dkimDomain]
        case .equals(let field, "temperror") where field.resultValues != nil: return [field]
        case .not(let inner): return inner.failuresTested
        case .and(let lhs, let rhs), .or(let lhs, let rhs): return lhs.failuresTested.union(rhs.failuresTested)
        default: return []
        }
    }

    /// The detectors the condition uses (the message step runs each once per message).
    public var detectors: [Detector] {
        switch self {
        case .detects(_, let detector), .detectorCount(let detector, _, _): return [detector]
        case .not(let inner): return inner.detectors
        case .and(let lhs, let rhs), .or(let lhs, let rhs): return lhs.detectors + rhs.detectors
        default: return []
        }
    }

    /// Fields the condition reads (for the stage check at load).
    public var fields: [Field] {
        switch self {
        case .matches(let field, _), .inList(let field, _), .equals(let field, _), .compare(let field, _, _): return [field]
        case .sameAs(let lhs, let rhs): return [lhs, rhs]
        case .tls, .auth, .tagged: return []
        case .detects(let scope, _): return [scope == .body ? .body : .attachmentName]
        case .detectorCount: return [.body]
        case .attachmentEncrypted: return [.attachmentName]
        case .not(let inner): return inner.fields
        case .and(let lhs, let rhs), .or(let lhs, let rhs): return lhs.fields + rhs.fields
        }
    }
}
