/// A parsed DKIM-Signature header field (RFC 6376 §3.5).
///
/// Required: `v=1`, `a=`, `b=`, `bh=`, `d=`, `h=` (naming `from`), `s=`. Optional: `c=` (default
/// `simple/simple`; `c=relaxed` alone means `relaxed/simple`), `l=`, `q=` (must offer `dns/txt`),
/// `t=`, `x=` (not before `t=`), `i=` (default `@d`; its domain `d=` or a subdomain of it). Unknown
/// tags are ignored. Whitespace inside `b=`, `bh=` and `h=` is removed. Any failure is a `DKIMError`
/// whose reason reads as a permerror comment.
public struct DKIMSignature: Sendable, Hashable {
    public var algorithm: DKIMAlgorithm
    /// `b=`, decoded.
    public var signature: [UInt8]
    /// `bh=`, decoded.
    public var bodyHash: [UInt8]
    /// `d=`, in lower case.
    public var domain: String
    /// `s=`, in lower case.
    public var selector: String
    /// `h=`, in lower case, in order (repeats kept).
    public var signedHeaders: [String]
    public var headerCanonicalization: DKIMCanonicalization
    public var bodyCanonicalization: DKIMCanonicalization
    /// `l=`.
    public var bodyLength: Int?
    /// `t=` and `x=`, seconds since the epoch.
    public var timestamp: Int64?
    public var expiration: Int64?
    /// `i=`, or `@` + `d=`.
    public var identity: String
    /// The raw field with `b=`'s value (and the FWS around it) deleted: what the signature covers,
    /// before header canonicalisation.
    public var fieldWithoutSignature: [UInt8]

    /// The body hash this signature needs.
    public var bodyHashParameters: DKIMBodyHashParameters {
        DKIMBodyHashParameters(canonicalization: bodyCanonicalization, length: bodyLength)
    }

    /// The DNS name of its key record.
    public var keyName: String { "\(selector)._domainkey.\(domain)" }

    /// The domain part of `i=`, in lower case.
    public var identityDomain: String {
        guard let at = identity.utf8.lastIndex(of: UInt8(ascii: "@")) else { return identity.lowercased() }
        return String(identity[identity.utf8.index(after: at)...]).lowercased()
    }

    public init(parsing field: DKIMHeaderField) throws(DKIMError) {
        let raw = field.raw
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { throw DKIMError("no colon in the field") }
        let end = raw.ends(with: [0x0D, 0x0A]) ? raw.count - 2 : raw.count
        let tags = try DKIMTagList(parsing: raw, range: (colon + 1)..<max(colon + 1, end))
        func required(_ name: String) throws(DKIMError) -> String {
            guard let value = tags.string(name), !value.isEmpty else { throw DKIMError("missing tag \(name)=") }
            return value
        }
        guard try required("v") == "1" else { throw DKIMError("v= is not 1") }
        let a = try required("a")
        guard let algorithm = DKIMAlgorithm(rawValue: a.lowercased()) else { throw DKIMError("unknown algorithm a=\(a)") }
        self.algorithm = algorithm
        guard tags.tag("b").map({ !$0.value.isEmpty }) ?? false else { throw DKIMError("missing tag b=") }
        guard tags.tag("bh").map({ !$0.value.isEmpty }) ?? false else { throw DKIMError("missing tag bh=") }
        signature = try tags.base64("b") ?? []
        bodyHash = try tags.base64("bh") ?? []
        guard !signature.isEmpty, !bodyHash.isEmpty else { throw DKIMError("empty b= or bh=") }
        domain = try required("d").lowercased()
        selector = try required("s").lowercased()
        guard Self.isDomainLike(domain) else { throw DKIMError("malformed d=") }
        guard Self.isDomainLike(selector) else { throw DKIMError("malformed s=") }
        _ = try required("h")
        // On octets: FWS removed, ASCII lower-cased (a field name is printable ASCII).
        signedHeaders = tags.tag("h")!.value.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { name in
            String(decoding: name.lazy.filter { !DKIMTagList.isFWS($0) }.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        guard !signedHeaders.contains(""), signedHeaders.contains("from") else { throw DKIMError("h= does not include from") }

        let canonicalization = (tags.string("c") ?? "simple/simple").lowercased()
        let parts = canonicalization.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let header = DKIMCanonicalization(rawValue: String(parts[0])),
              let body = DKIMCanonicalization(rawValue: parts.count == 2 ? String(parts[1]) : "simple")
        else { throw DKIMError("unknown canonicalization c=\(canonicalization)") }
        headerCanonicalization = header
        bodyCanonicalization = body

        if let query = tags.string("q") {
            guard query.split(separator: ":").contains(where: { $0.lowercased().hasPrefix("dns/txt") }) else {
                throw DKIMError("q= does not offer dns/txt")
            }
        }
        if let length = tags.string("l") {
            guard !length.isEmpty, length.utf8.count <= 76, length.isASCIIDigits else { throw DKIMError("malformed l=") }
            bodyLength = Int(length) ?? Int.max
        }
        timestamp = try Self.seconds(tags.string("t"), "t")
        expiration = try Self.seconds(tags.string("x"), "x")
        if let timestamp, let expiration, expiration < timestamp { throw DKIMError("x= is before t=") }

        identity = tags.string("i") ?? "@\(domain)"
        // On octets (Character-wise splitting is slow, and every signature of every message comes here).
        guard let at = identity.utf8.lastIndex(of: UInt8(ascii: "@")) else { throw DKIMError("i= is not in d= or a subdomain of it") }
        let last = String(identity[identity.utf8.index(after: at)...]).lowercased()
        guard last == domain || last.hasSuffix("." + domain) else { throw DKIMError("i= is not in d= or a subdomain of it") }

        let bTag = tags.tag("b")!
        fieldWithoutSignature = Array(raw[..<bTag.valueRange.lowerBound]) + raw[bTag.valueRange.upperBound...]
    }

    /// `d=`, `s=` and `a=` of a field that may not parse, for a permerror's report.
    static func describe(_ field: DKIMHeaderField) -> (domain: String, selector: String, algorithm: String) {
        let raw = field.raw
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")),
              let tags = try? DKIMTagList(parsing: raw, range: (colon + 1)..<raw.count)
        else { return ("", "", "") }
        return ((tags.string("d") ?? "").lowercased(), (tags.string("s") ?? "").lowercased(), (tags.string("a") ?? "").lowercased())
    }

    private static func seconds(_ text: String?, _ name: String) throws(DKIMError) -> Int64? {
        guard let text else { return nil }
        guard !text.isEmpty, text.utf8.count <= 12, text.isASCIIDigits, let value = Int64(text) else {
            throw DKIMError("malformed \(name)=")
        }
        return value
    }

    /// Letters, digits, `-`, `_` and `.` (A-labels; a selector may have dots), no empty label.
    private static func isDomainLike(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        var previous = UInt8(ascii: ".")
        for octet in text.utf8 {
            let lower = octet | 0x20
            if octet == UInt8(ascii: ".") {
                guard previous != UInt8(ascii: ".") else { return false } // an empty label
            } else {
                guard (lower >= 0x61 && lower <= 0x7A) || (octet >= 0x30 && octet <= 0x39)
                    || octet == UInt8(ascii: "-") || octet == UInt8(ascii: "_") else { return false }
            }
            previous = octet
        }
        return previous != UInt8(ascii: ".")
    }
}

private extension String {
    var isASCIIDigits: Bool { utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
