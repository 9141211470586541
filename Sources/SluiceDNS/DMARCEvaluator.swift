import SluicePolicy

/// DMARC (RFC 7489) as a pure function of DNS answers: the From header's domain, its policy record
/// (`_dmarc.DOMAIN`, else the organizational domain's), and whether SPF's or a DKIM signature's domain
/// is aligned with it (relaxed: the same organizational domain by the Public Suffix List; strict: equal).
public struct DMARCEvaluator: Sendable {
    public typealias Lookup = @Sendable (String, RecordType) async -> DNSResult

    let lookup: Lookup
    let suffixes: PublicSuffixList
    /// 0..<100 for `pct=` sampling (tests pass a fixed one).
    let sample: @Sendable () -> Int

    public init(suffixes: PublicSuffixList = .shared, sample: @escaping @Sendable () -> Int = { Int.random(in: 0..<100) },
                lookup: @escaping Lookup) {
        self.lookup = lookup
        self.suffixes = suffixes
        self.sample = sample
    }

    /// `from`: the values of the message's From fields. `spf`: the MAIL FROM identity's verdict and
    /// domain. `dkimPassing`: the `d=` of every signature that passed.
    /// `dkimTemporaryFailure`: a signature's key lookup failed for now (with nothing aligned passing,
    /// the result is then `temperror`, not `fail`: a retry may pass).
    public func evaluate(from: [String], spf: SPFVerdict?, dkimPassing: [String], dkimTemporaryFailure: Bool = false) async -> DMARCVerdict {
        guard from.count == 1, let domain = Self.authorDomain(from[0]) else {
            return DMARCVerdict(result: .permerror, fromDomain: "", problem: from.isEmpty ? "no From field" : "not exactly one From address")
        }
        let organization = suffixes.organizationalDomain(domain)
        var record: DMARCRecord?
        switch await fetch("_dmarc." + domain) {
        case .found(let found): record = found
        case .temporaryFailure: return DMARCVerdict(result: .temperror, fromDomain: domain, problem: "_dmarc.\(domain) lookup failed")
        case .absent:
            guard organization != domain else { break }
            switch await fetch("_dmarc." + organization) {
            case .found(let found):
                record = found
                record?.foundAtOrganization = true
            case .temporaryFailure:
                return DMARCVerdict(result: .temperror, fromDomain: domain, problem: "_dmarc.\(organization) lookup failed")
            case .absent: break
            }
        }
        guard let record else { return DMARCVerdict(result: .none, fromDomain: domain, problem: "no DMARC record") }

        func aligned(_ other: String, strict: Bool) -> Bool {
            let other = other.lowercased().hasSuffix(".") ? String(other.lowercased().dropLast()) : other.lowercased()
            return strict ? other == domain : suffixes.organizationalDomain(other) == organization
        }
        var verdict = DMARCVerdict(result: .fail, fromDomain: domain)
        if let spf, spf.result == .pass { verdict.spfAligned = aligned(spf.domain, strict: record.strictSPF) }
        verdict.dkimAligned = dkimPassing.contains { aligned($0, strict: record.strictDKIM) }
        if verdict.spfAligned || verdict.dkimAligned {
            verdict.result = .pass
        } else if spf?.result == .temperror || dkimTemporaryFailure {
            verdict.result = .temperror
            verdict.problem = "SPF or a DKIM key could not be looked up"
        }
        // The policy that applies: sp= for a subdomain of where the record was found at the organizational
        // domain; pct= sampling, a message outside it gets the next milder policy.
        var policy = domain != organization && record.foundAtOrganization ? (record.subdomainPolicy ?? record.policy) : record.policy
        if record.percent < 100, sample() >= record.percent {
            policy = policy == .reject ? .quarantine : .none
        }
        verdict.policy = policy
        return verdict
    }

    private enum Fetched {
        case found(DMARCRecord)
        case absent
        case temporaryFailure
    }

    private func fetch(_ name: String) async -> Fetched {
        switch await lookup(name, .txt) {
        case .nxdomain, .noData: return .absent
        case .serverFailure, .timedOut, .failed: return .temporaryFailure
        case .answer(let records, _):
            let texts = records.compactMap(RecordData.text).filter { $0.hasPrefix("v=DMARC1") }
            // More than one record: as if there were none (§6.6.3).
            guard texts.count == 1, let record = Self.records.value(texts[0], parse: DMARCRecord.init) else { return .absent }
            return .found(record)
        }
    }

    /// The domain of the From field's single address (`"A" <a@Example.com>` → `example.com`); nil for
    /// none or more than one. Quoted strings and comments are skipped; the address is the one in angle
    /// brackets when there are some.
    /// Policy records parsed once by their text.
    private static let records = ParsedRecordCache<DMARCRecord?>()

    public static func authorDomain(_ value: String) -> String? {
        // On octets (every special character is ASCII; a UTF-8 sequence never contains one): this runs
        // for every message DMARC looks at.
        var plain: [UInt8] = []
        plain.reserveCapacity(value.utf8.count)
        var inQuote = false, escaped = false, depth = 0
        for octet in value.utf8 {
            if escaped { escaped = false; continue }
            if octet == UInt8(ascii: "\\") && (inQuote || depth > 0) { escaped = true; continue }
            if inQuote { if octet == UInt8(ascii: "\"") { inQuote = false }; continue }
            if octet == UInt8(ascii: "\"") { inQuote = true; continue }
            if octet == UInt8(ascii: "(") { depth += 1; continue }
            if depth > 0 { if octet == UInt8(ascii: ")") { depth -= 1 }; continue }
            plain.append(octet)
        }
        guard !plain.contains(UInt8(ascii: ",")) else { return nil }
        var address = plain[...]
        if let open = plain.lastIndex(of: UInt8(ascii: "<")) {
            guard let close = plain[open...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            address = plain[(open + 1)..<close]
        }
        func isSpace(_ octet: UInt8) -> Bool { octet == 0x20 || octet == 0x09 || octet == 0x0D || octet == 0x0A }
        while let first = address.first, isSpace(first) { address.removeFirst() }
        while let last = address.last, isSpace(last) { address.removeLast() }
        guard address.lazy.filter({ $0 == UInt8(ascii: "@") }).count == 1, let at = address.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        var domain = Array(address[(at + 1)...])
        if domain.last == UInt8(ascii: ".") { domain.removeLast() }
        guard domain.contains(UInt8(ascii: ".")) else { return nil }
        for index in domain.indices {
            let octet = domain[index]
            switch octet {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): domain[index] = octet | 0x20
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): break
            default: return nil
            }
        }
        return String(decoding: domain, as: UTF8.self)
    }
}

/// A DMARC policy record's tags (RFC 7489 §6.3): `p=` (required), `sp=`, `adkim=`, `aspf=`, `pct=`.
struct DMARCRecord: Sendable, Hashable {
    var policy: DMARCPolicy
    var subdomainPolicy: DMARCPolicy?
    var strictDKIM = false
    var strictSPF = false
    var percent = 100
    var foundAtOrganization = false

    init?(_ text: String) {
        var tags: [String: String] = [:]
        for part in text.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace }
            guard pair.count == 2 else { continue }
            tags[pair[0].lowercased()] = pair[1]
        }
        guard tags["v"] == "DMARC1", let p = tags["p"].flatMap({ DMARCPolicy(rawValue: $0.lowercased()) }) else { return nil }
        policy = p
        subdomainPolicy = tags["sp"].flatMap { DMARCPolicy(rawValue: $0.lowercased()) }
        strictDKIM = tags["adkim"]?.lowercased() == "s"
        strictSPF = tags["aspf"]?.lowercased() == "s"
        if let pct = tags["pct"].flatMap({ Int($0) }) { percent = min(100, max(0, pct)) }
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" || first == "\n" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" || last == "\n" { text.removeLast() }
        return String(text)
    }
}
