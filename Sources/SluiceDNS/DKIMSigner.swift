import Foundation

/// Signs messages for one domain and selector with one key (RFC 6376 §5, RFC 8463): made once from
/// the configuration, then `sign` for each message, given its header fields and its body hash (from
/// `makeBodyHasher()`, fed the body in chunks).
///
/// The signature lists each header name in `signedHeaders` once per instance present, and the names
/// in `oversignedHeaders` once more (an instance added later then breaks the signature); `from` is
/// always listed. The field is folded at 78 columns with CRLF + TAB, `b=` last.
public struct DKIMSigner: Sendable {
    /// The fields a signature covers by default.
    public static let defaultSignedHeaders = [
        "from", "to", "cc", "subject", "date", "message-id", "reply-to", "mime-version", "content-type",
        "content-transfer-encoding", "in-reply-to", "references",
    ]
    public static let defaultOversignedHeaders: Set<String> = ["from"]

    public let key: DKIMPrivateKey
    public let domain: String
    public let selector: String
    public let signedHeaders: [String]
    public let oversignedHeaders: Set<String>
    public let headerCanonicalization: DKIMCanonicalization
    public let bodyCanonicalization: DKIMCanonicalization
    /// `i=`, when set.
    public let identity: String?
    /// Seconds from signing to `x=`, when set.
    public let lifetime: Int?

    /// Checks the names now, so a bad configuration fails at start rather than per message.
    public init(key: DKIMPrivateKey, domain: String, selector: String,
                signedHeaders: [String] = DKIMSigner.defaultSignedHeaders,
                oversignedHeaders: Set<String> = DKIMSigner.defaultOversignedHeaders,
                headerCanonicalization: DKIMCanonicalization = .relaxed, bodyCanonicalization: DKIMCanonicalization = .relaxed,
                identity: String? = nil, lifetime: Int? = nil) throws(DKIMError) {
        func plain(_ text: String) -> Bool {
            !text.isEmpty && !text.hasPrefix(".") && !text.hasSuffix(".") && !text.contains("..")
                && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: "=") }
        }
        let domain = domain.lowercased(), selector = selector.lowercased()
        guard plain(domain) else { throw DKIMError("DKIM domain \(domain) is not a domain name") }
        guard plain(selector) else { throw DKIMError("DKIM selector \(selector) is not a selector") }
        if let identity {
            let host = identity.split(separator: "@", omittingEmptySubsequences: false)
            guard host.count >= 2, let last = host.last?.lowercased(), last == domain || last.hasSuffix("." + domain),
                  identity.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: ";") })
            else { throw DKIMError("DKIM identity \(identity) is not in \(domain)") }
        }
        if let lifetime, lifetime <= 0 { throw DKIMError("DKIM signature lifetime must be positive") }
        let names = signedHeaders.map { $0.lowercased() }
        guard names.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") } }) else {
            throw DKIMError("a header name to sign is empty or malformed")
        }
        self.key = key
        self.domain = domain
        self.selector = selector
        var unique: [String] = names.contains("from") ? [] : ["from"]
        for name in names where !unique.contains(name) { unique.append(name) }
        self.signedHeaders = unique
        self.oversignedHeaders = Set(oversignedHeaders.map { $0.lowercased() })
        self.headerCanonicalization = headerCanonicalization
        self.bodyCanonicalization = bodyCanonicalization
        self.identity = identity
        self.lifetime = lifetime
    }

    /// A hasher for the body of one message.
    public func makeBodyHasher() -> DKIMBodyHasher { DKIMBodyHasher(canonicalization: bodyCanonicalization) }

    /// The DKIM-Signature field (CRLF-terminated, to be prepended to the header) for a message with
    /// these header fields and this body hash (from `makeBodyHasher()`).
    public func sign(headers: [DKIMHeaderField], bodyHash: DKIMBodyHash, now: Date) throws(DKIMError) -> DKIMHeaderField {
        guard bodyHash.parameters == DKIMBodyHashParameters(canonicalization: bodyCanonicalization) else {
            throw DKIMError("the body hash was not made by this signer's hasher")
        }
        var names: [String] = []
        for name in signedHeaders {
            let present = headers.filter { $0.name.lowercased() == name }.count
            names += Array(repeating: name, count: present + (oversignedHeaders.contains(name) ? 1 : 0))
        }
        let time = Int64(now.timeIntervalSince1970)
        var tags: [[String]] = [
            ["v=1;"], ["a=\(key.algorithm.rawValue);"], ["c=\(headerCanonicalization.rawValue)/\(bodyCanonicalization.rawValue);"],
            ["d=\(domain);"], ["s=\(selector);"], ["t=\(time);"],
        ]
        if let lifetime { tags.append(["x=\(time + Int64(lifetime));"]) }
        if let identity { tags.append(["i=\(identity);"]) }
        // h= folds at its colons (FWS is allowed before each).
        tags.append(names.enumerated().map { index, name in (index == 0 ? "h=" : ":") + name + (index == names.count - 1 ? ";" : "") })
        tags.append(["bh=\(Data(bodyHash.digest).base64EncodedString());"])

        var text = "DKIM-Signature:"
        var column = text.count
        for tag in tags {
            for (position, token) in tag.enumerated() {
                let separator = position == 0 ? " " : ""
                if column + separator.count + token.count > 78 {
                    text += "\r\n\t" + token
                    column = 8 + token.count
                } else {
                    text += separator + token
                    column += separator.count + token.count
                }
            }
        }
        text += "\r\n\tb="
        let unsigned = Array(text.utf8)
        let data = DKIMHeaderSelection.signedData(fields: headers, names: names, excluding: nil, signatureField: unsigned,
                                                  canonicalization: headerCanonicalization)
        guard let signature = key.key.sign(headerData: data) else { throw DKIMError("libcrypto could not sign") }
        var encoded = Substring(Data(signature).base64EncodedString())
        var first = true
        while !encoded.isEmpty {
            let width = first ? 67 : 70
            text += (first ? "" : "\r\n\t") + encoded.prefix(width)
            encoded = encoded.dropFirst(width)
            first = false
        }
        return DKIMHeaderField(name: "DKIM-Signature", raw: Array((text + "\r\n").utf8))
    }
}
