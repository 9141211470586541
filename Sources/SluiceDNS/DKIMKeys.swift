import COpenSSL
import Foundation
import NIOConcurrencyHelpers

/// A signing or verifying algorithm (`a=`).
public enum DKIMAlgorithm: String, Sendable, Hashable, CaseIterable {
    case rsaSHA256 = "rsa-sha256"
    case ed25519SHA256 = "ed25519-sha256"
    /// Parsed so a result can name it, never verified or signed with (RFC 8301 §3.1).
    case rsaSHA1 = "rsa-sha1"
}

/// An `EVP_PKEY`, freed with its last reference. Immutable once made: libcrypto allows one key in
/// concurrent verify and sign operations, each with its own `EVP_MD_CTX`.
final class DKIMEVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
    var isRSA: Bool { EVP_PKEY_get_base_id(pointer) == EVP_PKEY_RSA }
    var isEd25519: Bool { EVP_PKEY_get_base_id(pointer) == EVP_PKEY_ED25519 }

    /// An RSA public key from a key record's `p=`: a SubjectPublicKeyInfo (what RFC 6376 says), or a
    /// bare PKCS#1 RSAPublicKey (what some publishers put there).
    static func rsaPublicKey(der: [UInt8]) -> DKIMEVPKey? {
        der.withUnsafeBufferPointer { buffer -> DKIMEVPKey? in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            if let key = d2i_PUBKEY(nil, &cursor, buffer.count) {
                let wrapped = DKIMEVPKey(key)
                return wrapped.isRSA ? wrapped : nil
            }
            ERR_clear_error()
            cursor = base
            if let key = d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count) { return DKIMEVPKey(key) }
            ERR_clear_error()
            return nil
        }
    }

    /// An Ed25519 public key from its 32 raw octets (RFC 8463 §4).
    static func ed25519PublicKey(raw: [UInt8]) -> DKIMEVPKey? {
        guard raw.count == 32 else { return nil }
        guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            ERR_clear_error()
            return nil
        }
        return DKIMEVPKey(key)
    }

    /// Whether `signature` signs `headerData` (the canonical header octets) with this public key:
    /// RSASSA-PKCS1-v1_5 over SHA-256 for RSA; for Ed25519, PureEdDSA over the SHA-256 digest of
    /// the header data (RFC 8463 §3: the signed "message" is the hash, not the data).
    func verify(signature: [UInt8], headerData: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context); ERR_clear_error() }
        let ed25519 = isEd25519
        let message = ed25519 ? SHA256Digest.hash(headerData) : headerData
        guard EVP_DigestVerifyInit(context, nil, ed25519 ? nil : DKIMAlgorithms.sha256, nil, pointer) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }

    /// The signature over `headerData` with this private key (the same constructions as `verify`).
    func sign(headerData: [UInt8]) -> [UInt8]? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context); ERR_clear_error() }
        let ed25519 = isEd25519
        let message = ed25519 ? SHA256Digest.hash(headerData) : headerData
        guard EVP_DigestSignInit(context, nil, ed25519 ? nil : DKIMAlgorithms.sha256, nil, pointer) == 1 else { return nil }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { return nil }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { return nil }
        return Array(signature.prefix(length))
    }
}

/// Public keys parsed from key records, by type and `p=` octets, so repeated mail from one signer
/// does not parse the key again (in OpenSSL 3, `d2i_PUBKEY` of an RSA-2048 key costs several times
/// a verification). Bounded: at most `capacity` keys; when full, the least recently used goes.
/// Only keys that parsed are kept; the checks made on a key (type, size) are made on every use.
final class DKIMPublicKeyCache: Sendable {
    static let shared = DKIMPublicKeyCache(capacity: 256)

    private struct Key: Hashable {
        let type: DKIMKeyRecord.KeyType
        let octets: [UInt8]
    }

    private struct Entry {
        let key: DKIMEVPKey
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { state.withLockedValue { $0.entries.count } }

    /// The key for `octets`, parsed by `parse` (outside the lock) when not cached.
    func key(type: DKIMKeyRecord.KeyType, octets: [UInt8], parse: ([UInt8]) -> DKIMEVPKey?) -> DKIMEVPKey? {
        let lookup = Key(type: type, octets: octets)
        let cached: DKIMEVPKey? = state.withLockedValue { state in
            guard var entry = state.entries[lookup] else { return nil }
            state.clock &+= 1
            entry.lastUse = state.clock
            state.entries[lookup] = entry
            return entry.key
        }
        if let cached { return cached }
        guard let parsed = parse(octets) else { return nil }
        let capacity = capacity
        return state.withLockedValue { state in
            if let raced = state.entries[lookup] { return raced.key }
            if state.entries.count >= capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries[oldest.key] = nil
            }
            state.clock &+= 1
            state.entries[lookup] = Entry(key: parsed, lastUse: state.clock)
            return parsed
        }
    }
}

/// A DKIM signing key, loaded once (at configuration time) from PEM: an RSA key of at least 1024
/// bits (PKCS#1 or PKCS#8), or an Ed25519 key in PKCS#8 (`openssl genpkey -algorithm ed25519`).
public struct DKIMPrivateKey: Sendable {
    let key: DKIMEVPKey
    public let algorithm: DKIMAlgorithm

    /// Parses a PEM private key. The error says why it is unusable (not PEM, encrypted, too small,
    /// a key type DKIM has no algorithm for).
    public init(pem: String) throws(DKIMError) {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let parsed else {
            let code = ERR_peek_last_error()
            ERR_clear_error()
            throw DKIMError("not a PEM private key (or an encrypted one)\(code == 0 ? "" : ": \(Self.errorText(code))")")
        }
        let key = DKIMEVPKey(parsed)
        if key.isRSA {
            guard key.bits >= 1024 else { throw DKIMError("RSA key of \(key.bits) bits: at least 1024 are needed (RFC 8301)") }
            algorithm = .rsaSHA256
        } else if key.isEd25519 {
            algorithm = .ed25519SHA256
        } else {
            throw DKIMError("not an RSA or Ed25519 key")
        }
        self.key = key
    }

    /// Reads and parses a PEM file; the error names the file.
    public init(contentsOfFile path: String) throws(DKIMError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DKIMError("\(path): cannot read the key file (\(error.localizedDescription))")
        }
        do { try self.init(pem: text) } catch { throw DKIMError("\(path): \(error.reason)") }
    }

    /// The key's size in bits (256 for Ed25519).
    public var bits: Int { key.bits }

    /// The DNS TXT record that publishes this key's public half: `v=DKIM1; k=rsa; p=…` (a
    /// SubjectPublicKeyInfo) or `v=DKIM1; k=ed25519; p=…` (the 32 raw octets).
    public var publicKeyRecord: String {
        var der: [UInt8] = []
        if key.isEd25519 {
            var length = 0
            if EVP_PKEY_get_raw_public_key(key.pointer, nil, &length) == 1 {
                der = [UInt8](repeating: 0, count: length)
                if EVP_PKEY_get_raw_public_key(key.pointer, &der, &length) != 1 { der = [] }
            }
        } else {
            var output: UnsafeMutablePointer<UInt8>?
            let length = i2d_PUBKEY(key.pointer, &output)
            if length > 0, let output {
                der = Array(UnsafeBufferPointer(start: output, count: Int(length)))
                CRYPTO_free(output, #fileID, #line)
            }
        }
        ERR_clear_error()
        return "v=DKIM1; k=\(key.isEd25519 ? "ed25519" : "rsa"); p=\(Data(der).base64EncodedString())"
    }

    private static func errorText(_ code: UInt) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
