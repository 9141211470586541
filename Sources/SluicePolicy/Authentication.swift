/// What email authentication found for a transaction (SPF at MAIL; DKIM and DMARC at the end of the
/// message), as values the rules read and the trace fields are written from. The evaluators are in
/// SluiceDNS; their results are policy facts, so their types are here.
public struct Authentication: Sendable, Hashable {
    /// The MAIL FROM identity (the HELO's for the null sender).
    public var spf: SPFVerdict?
    /// The HELO identity (RFC 7208 §2.3).
    public var spfHelo: SPFVerdict?
    /// Every DKIM signature checked (nil: DKIM was not checked; empty: the message has none).
    public var dkim: [DKIMOutcome]?
    public var dmarc: DMARCVerdict?

    public init(spf: SPFVerdict? = nil, spfHelo: SPFVerdict? = nil) {
        self.spf = spf
        self.spfHelo = spfHelo
    }

    public var isEmpty: Bool { spf == nil && spfHelo == nil && dkim == nil && dmarc == nil }

    /// `dkim`: `none` unsigned; else `pass` if a signature passed, then `temperror` (a retry may pass),
    /// `fail`, `permerror`, `policy`, `neutral`, in that order.
    public var dkimResult: String? {
        guard let dkim else { return nil }
        guard !dkim.isEmpty else { return "none" }
        for candidate in ["pass", "temperror", "fail", "permerror", "policy", "neutral"] where dkim.contains(where: { $0.result == candidate }) {
            return candidate
        }
        return "neutral"
    }

    /// The result fields whose lookups failed for now (a rule reading one defers, unless it tests
    /// `= temperror`): derived from the results themselves, so every stage after MAIL knows it too.
    public var failedFields: Set<Field> {
        var failed: Set<Field> = []
        if spf?.result == .temperror { failed.insert(.spf) }
        if spfHelo?.result == .temperror { failed.insert(.spfHelo) }
        if dkimResult == "temperror" { failed.formUnion([.dkim, .dkimDomain]) }
        if dmarc?.result == .temperror { failed.formUnion([.dmarc, .dmarcPolicy]) }
        return failed
    }

    /// `dkim.domain`: the `d=` of the first passing signature (empty when none passes).
    public var dkimDomain: String? {
        guard let dkim else { return nil }
        return dkim.first { $0.result == "pass" }?.domain ?? ""
    }

    /// The `d=` of every passing signature, lower case (a `dkim.domain` test holds when one matches).
    public var dkimDomains: [String] {
        (dkim ?? []).filter { $0.result == "pass" }.map { $0.domain.lowercased() }
    }
}

/// One DKIM signature's outcome (RFC 8601 names: pass fail neutral temperror permerror policy).
public struct DKIMOutcome: Sendable, Hashable {
    public var result: String
    public var domain: String
    public var selector: String
    public var algorithm: String
    /// The first octets of `b=` (RFC 6008 `header.b`, to tell signatures apart).
    public var signaturePrefix: String
    public var reason: String?

    public init(result: String, domain: String, selector: String, algorithm: String, signaturePrefix: String, reason: String? = nil) {
        self.result = result
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.signaturePrefix = signaturePrefix
        self.reason = reason
    }

    public static let results = ["pass", "fail", "neutral", "temperror", "permerror", "policy", "none"]
}

public enum DMARCResult: String, Sendable, Hashable, CaseIterable {
    case pass, fail, none, temperror, permerror
}

public enum DMARCPolicy: String, Sendable, Hashable, CaseIterable {
    case none, quarantine, reject
}

/// DMARC (RFC 7489) for a message: whether SPF or DKIM passed for a domain aligned with the From
/// header's, and the policy the From domain asks for when neither did.
public struct DMARCVerdict: Sendable, Hashable {
    public var result: DMARCResult
    /// The From header's domain.
    public var fromDomain: String
    /// The policy that applies to this message (`sp=` for a subdomain, `pct=` sampling applied: a
    /// message outside the percentage gets the next milder policy, RFC 7489 §6.6.4); nil without a record.
    public var policy: DMARCPolicy?
    public var spfAligned = false
    public var dkimAligned = false
    public var problem: String?

    public init(result: DMARCResult, fromDomain: String, policy: DMARCPolicy? = nil, problem: String? = nil) {
        self.result = result
        self.fromDomain = fromDomain
        self.policy = policy
        self.problem = problem
    }
}

/// An SPF result (RFC 7208 §2.6), as rules test it (`spf = softfail`).
public enum SPFResult: String, Sendable, Hashable, CaseIterable {
    case pass, fail, softfail, neutral, none, temperror, permerror
}

/// The outcome of one check: the result, the domain checked and why.
/// (An `Error` too: inside the evaluator a verdict that ends the check early is a `Result`'s failure.)
public struct SPFVerdict: Sendable, Hashable, Error {
    public var result: SPFResult
    /// The identity's domain (the MAIL FROM domain, or the HELO for the null sender or the HELO check).
    public var domain: String
    /// For `fail`: the domain's own explanation (`exp=`), when it has a usable one.
    public var explanation: String?
    /// The term that matched (`ip4:192.0.2.0/24`, `-all`), or "default" when none did.
    public var mechanism: String?
    /// Why a `permerror` or `temperror` happened.
    public var problem: String?

    public init(result: SPFResult, domain: String, explanation: String? = nil, mechanism: String? = nil, problem: String? = nil) {
        self.result = result
        self.domain = domain
        self.explanation = explanation
        self.mechanism = mechanism
        self.problem = problem
    }
}


extension SPFVerdict {
    /// The `Received-SPF:` field's value (RFC 7208 §9.1), folded: result, comment, and the key-value
    /// pairs a later hop (or a DMARC evaluator) reads.
    public func receivedSPF(receiver: String, clientIP: String, envelopeFrom: String, helo: String?, identity: String) -> String {
        let comment: String
        switch result {
        case .pass: comment = "\(receiver): domain of \(envelopeFrom) designates \(clientIP) as permitted sender"
        case .fail: comment = "\(receiver): domain of \(envelopeFrom) does not designate \(clientIP) as permitted sender"
        case .softfail: comment = "\(receiver): domain of transitioning \(envelopeFrom) does not designate \(clientIP) as permitted sender"
        case .neutral: comment = "\(receiver): \(clientIP) is neither permitted nor denied by domain of \(envelopeFrom)"
        case .none: comment = "\(receiver): domain of \(envelopeFrom) does not provide an SPF record"
        case .temperror: comment = "\(receiver): error in processing during lookup of \(envelopeFrom)"
        case .permerror: comment = "\(receiver): permanent error in processing domain of \(envelopeFrom)"
        }
        var pairs = ["client-ip=\(clientIP);", "envelope-from=\(Self.quoted(envelopeFrom));"]
        if let helo { pairs.append("helo=\(Self.quoted(helo));") }
        pairs.append("receiver=\(Self.quoted(receiver));")
        pairs.append("identity=\(identity);")
        if let mechanism { pairs.append("mechanism=\(Self.quoted(mechanism));") }
        if let problem, result == .permerror || result == .temperror { pairs.append("problem=\(Self.quoted(problem));") }
        return "\(result.rawValue) (\(Self.commentSafe(comment)))\r\n\t" + pairs.joined(separator: "\r\n\t")
    }

    /// A value as a dot-atom when it is one, else a quoted-string (RFC 5322), printable ASCII only.
    static func quoted(_ value: String) -> String {
        // On octets: this runs for every relayed message's trace fields.
        var atom = !value.isEmpty
        for byte in value.utf8 where !Self.atext[Int(byte)] { atom = false; break }
        if atom { return value }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted.reserveCapacity(value.utf8.count + 2)
        for byte in value.utf8 where byte >= 0x20 && byte < 0x7F {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }

    /// RFC 5322 atext and ".", by octet (not "@": an address is quoted).
    private static let atext: [Bool] = (0..<256).map { byte in
        guard byte < 0x80, let scalar = Unicode.Scalar(byte) else { return false }
        let character = Character(scalar)
        return (character.isASCII && (character.isLetter || character.isNumber)) || "!#$%&'*+-/=?^_`{|}~.".contains(character)
    }

    /// Text safe inside a comment: printable ASCII without parentheses or backslashes.
    static func commentSafe(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: "\\") },
               as: UTF8.self)
    }
}

extension Authentication {
    /// The `Authentication-Results:` value (RFC 8601) for what was checked, folded one method per line:
    /// `spf` with `smtp.mailfrom` (or `smtp.helo` for the null sender), each DKIM signature with
    /// `header.d`, `header.s`, `header.a`, `header.b` (RFC 6008), `dmarc` with `header.from` and the
    /// policy that applies. Nil when nothing was checked.
    public func resultsValue(authservID: String, sender: String?, helo: String?) -> String? {
        var methods: [String] = []
        if let spf {
            let property = sender.map { "smtp.mailfrom=" + SPFVerdict.quoted($0) } ?? "smtp.helo=" + SPFVerdict.quoted(helo ?? "")
            methods.append("spf=\(spf.result.rawValue) \(property)")
        }
        if let dkim {
            if dkim.isEmpty { methods.append("dkim=none") }
            for signature in dkim {
                var method = "dkim=\(signature.result)"
                if let reason = signature.reason, signature.result != "pass" { method += " (\(SPFVerdict.commentSafe(reason)))" }
                method += " header.d=\(SPFVerdict.quoted(signature.domain)) header.s=\(SPFVerdict.quoted(signature.selector))"
                method += " header.a=\(SPFVerdict.quoted(signature.algorithm))"
                if !signature.signaturePrefix.isEmpty { method += " header.b=\(SPFVerdict.quoted(signature.signaturePrefix))" }
                methods.append(method)
            }
        }
        if let dmarc {
            var method = "dmarc=\(dmarc.result.rawValue)"
            if let policy = dmarc.policy { method += " (p=\(policy.rawValue))" }
            if !dmarc.fromDomain.isEmpty { method += " header.from=\(SPFVerdict.quoted(dmarc.fromDomain))" }
            if let policy = dmarc.policy { method += " policy.dmarc=\(policy.rawValue)" }
            methods.append(method)
        }
        guard !methods.isEmpty else { return nil }
        return SPFVerdict.quoted(authservID) + ";\r\n\t" + methods.joined(separator: ";\r\n\t")
    }
}
