/// A DKIM key record: the TXT record at `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.1, RFC 8463).
///
/// `v=` is optional and must be `DKIM1`; `k=` defaults to `rsa` (an unknown type is an error, as
/// Sluice cannot use the key); `p=` is required and empty means revoked; `h=` (acceptable hashes),
/// `s=` (service types) and `t=` (flags: `y` testing, `s` strict identity) are optional. Unknown tags
/// and flags are ignored.
public struct DKIMKeyRecord: Sendable, Hashable {
    public enum KeyType: String, Sendable, Hashable {
        case rsa, ed25519
    }

    public var keyType: KeyType
    /// `p=` decoded: a SubjectPublicKeyInfo (or bare RSAPublicKey) for RSA, 32 octets for Ed25519.
    public var publicKey: [UInt8]
    /// `h=`: the hash algorithms the key may be used with; nil for any.
    public var hashAlgorithms: [String]?
    /// `s=`: the service types; `["*"]` when absent.
    public var serviceTypes: [String]
    /// `t=`: the flags, in lower case.
    public var flags: [String]

    /// `t=y`: the domain is testing DKIM; a failure should not be treated differently from no signature.
    public var isTesting: Bool { flags.contains("y") }
    /// `t=s`: the `i=` domain must be exactly `d=`, not a subdomain.
    public var isStrict: Bool { flags.contains("s") }

    public init(parsing text: String) throws(DKIMError) {
        let tags: DKIMTagList
        do { tags = try DKIMTagList(parsing: text) } catch { throw DKIMError("key record syntax: \(error.reason)") }
        if let version = tags.string("v") {
            guard version == "DKIM1", tags.tags.first?.name == "v" else { throw DKIMError("key record v= is not DKIM1 (or not first)") }
        }
        let type = tags.string("k") ?? "rsa"
        guard let keyType = KeyType(rawValue: type.lowercased()) else { throw DKIMError("key type k=\(type) is not supported") }
        guard let encoded = tags.compact("p") else { throw DKIMError("key record without p=") }
        guard !encoded.isEmpty else { throw DKIMError("key revoked (empty p=)") }
        let key: [UInt8]?
        do { key = try tags.base64("p") } catch { throw DKIMError("key record p= is not base64") }
        self.keyType = keyType
        publicKey = key ?? []
        hashAlgorithms = tags.string("h").map(Self.list)
        serviceTypes = tags.string("s").map(Self.list) ?? ["*"]
        flags = tags.string("t").map(Self.list) ?? []
    }

    /// Whether the key may verify a signature with `algorithm`.
    func check(against algorithm: DKIMAlgorithm) throws(DKIMError) {
        let (type, hash): (KeyType, String) = switch algorithm {
        case .rsaSHA256: (.rsa, "sha256")
        case .rsaSHA1: (.rsa, "sha1")
        case .ed25519SHA256: (.ed25519, "sha256")
        }
        guard keyType == type else { throw DKIMError("key type k=\(keyType.rawValue) does not match a=\(algorithm.rawValue)") }
        if let hashAlgorithms, !hashAlgorithms.contains(hash) { throw DKIMError("key h= does not allow \(hash)") }
        guard serviceTypes.contains("*") || serviceTypes.contains("email") else { throw DKIMError("key s= is not for email") }
    }

    private static func list(_ value: String) -> [String] {
        value.split(separator: ":").map { $0.filter { !" \t\r\n".contains($0) }.lowercased() }.filter { !$0.isEmpty }
    }
}

/// Key records parsed once by their text (`ParsedRecordCache`): each answer would otherwise be
/// tag-parsed and base64-decoded for every message.
enum DKIMKeyRecordCache {
    private static let cache = ParsedRecordCache<Result<DKIMKeyRecord, DKIMError>>()

    static func record(_ text: String) -> Result<DKIMKeyRecord, DKIMError> {
        cache.value(text) { text in
            do throws(DKIMError) { return .success(try DKIMKeyRecord(parsing: text)) } catch { return .failure(error) }
        }
    }
}
