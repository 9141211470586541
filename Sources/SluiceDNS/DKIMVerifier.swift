import Foundation

/// Verifies a message's DKIM signatures (RFC 6376 §6, RFC 8463), in three steps so the body is read
/// once whatever the number of signatures:
///
/// 1. `init(headers:)` parses every DKIM-Signature field (up to `maximumSignatures`, the most recent
///    first) and works out the distinct body hashes they need (`bodyHashParameters`);
/// 2. `update(body:)` feeds the body, in chunks of any size, to each of those hashers;
/// 3. `finish(now:lookup:)` looks up each key (once per name) through the caller's closure, and
///    checks the body hash, the key and the signature.
///
/// Accepted: rsa-sha256 (keys of 1024 bits or more; smaller ones fail) and ed25519-sha256.
/// rsa-sha1 signatures are never verified: their result is `permerror` ("rsa-sha1 not accepted"),
/// because RFC 8301 says verifiers must not treat them as valid, and a permanent error (a signature
/// that cannot count, not evidence of tampering) describes that better than `fail` or `neutral`.
/// An `x=` in the past is `permerror` ("signature expired", RFC 6376's PERMFAIL); `t=` in the future is
/// not checked. An `l=` longer than the canonical body is `permerror`; a shorter one verifies, and
/// the result says the body was not fully signed. The body hash is compared before the key is looked
/// up (a changed body fails without a DNS query).
public struct DKIMVerifier: Sendable {
    public static let defaultMaximumSignatures = 5

    private struct Candidate: Sendable {
        /// The field's index among the headers.
        let index: Int
        let field: DKIMHeaderField
        let parsed: Result<DKIMSignature, DKIMError>
    }

    private let headers: [DKIMHeaderField]
    private let candidates: [Candidate]
    private let unchecked: Int
    private var hashers: [DKIMBodyHashParameters: DKIMBodyHasher] = [:]

    public init(headers: [DKIMHeaderField], maximumSignatures: Int = DKIMVerifier.defaultMaximumSignatures) {
        self.headers = headers
        let fields = headers.enumerated().filter { $0.element.name.lowercased() == "dkim-signature" }
        candidates = fields.prefix(max(0, maximumSignatures)).map { index, field in
            Candidate(index: index, field: field, parsed: Result { () throws(DKIMError) in try DKIMSignature(parsing: field) })
        }
        unchecked = max(0, fields.count - max(0, maximumSignatures))
        for candidate in candidates {
            if case .success(let signature) = candidate.parsed, signature.algorithm != .rsaSHA1 {
                hashers[signature.bodyHashParameters] = DKIMBodyHasher(signature.bodyHashParameters)
            }
        }
    }

    /// The distinct body hashes the signatures need; empty when there is nothing to hash (then the
    /// body need not be read).
    public var bodyHashParameters: [DKIMBodyHashParameters] { Array(hashers.keys) }

    /// The parsed signatures (those that parsed), most recent first.
    public var signatures: [DKIMSignature] { candidates.compactMap { try? $0.parsed.get() } }

    /// Feeds the next chunk of the body (the octets after the header's empty line).
    public mutating func update(body chunk: UnsafeRawBufferPointer) {
        for key in hashers.keys { hashers[key]!.update(chunk) }
    }

    public mutating func update(body chunk: [UInt8]) { chunk.withUnsafeBytes { update(body: $0) } }

    /// Checks every signature. `lookup` gets a key record name (`SELECTOR._domainkey.DOMAIN`) and
    /// is asked once per name. Nothing here throws: every problem is a result.
    public func finish(now: Date, lookup: (String) async -> DKIMKeyLookup) async -> DKIMVerification {
        let bodyHashes = hashers.mapValues { $0.finish() }
        var lookups: [String: DKIMKeyLookup] = [:]
        var results: [DKIMSignatureResult] = []
        for candidate in candidates {
            let signature: DKIMSignature
            switch candidate.parsed {
            case .failure(let error):
                let (domain, selector, algorithm) = DKIMSignature.describe(candidate.field)
                results.append(DKIMSignatureResult(result: .permerror, domain: domain, selector: selector, algorithm: algorithm,
                                                   reason: error.reason))
                continue
            case .success(let parsed):
                signature = parsed
            }
            var result = DKIMSignatureResult(result: .permerror, domain: signature.domain, selector: signature.selector,
                                             algorithm: signature.algorithm.rawValue, identity: signature.identity)
            func conclude(_ verdict: DKIMResult, _ reason: String?) {
                result.result = verdict
                result.reason = reason
                results.append(result)
            }
            if signature.algorithm == .rsaSHA1 { conclude(.permerror, "rsa-sha1 not accepted (RFC 8301)"); continue }
            if let expiration = signature.expiration, Int64(now.timeIntervalSince1970) > expiration {
                conclude(.permerror, "signature expired")
                continue
            }
            guard let bodyHash = bodyHashes[signature.bodyHashParameters] else { conclude(.permerror, "no body hash"); continue }
            if let length = signature.bodyLength, length > bodyHash.canonicalLength {
                conclude(.permerror, "l= value exceeds the body size")
                continue
            }
            result.bodyFullySigned = bodyHash.coversWholeBody
            guard bodyHash.digest == signature.bodyHash else { conclude(.fail, "body hash did not verify"); continue }

            let name = signature.keyName
            let answer: DKIMKeyLookup
            if let known = lookups[name] { answer = known } else {
                answer = await lookup(name)
                lookups[name] = answer
            }
            let record: DKIMKeyRecord
            switch answer {
            case .temporaryFailure: conclude(.temperror, "key lookup failed temporarily"); continue
            case .notFound: conclude(.permerror, "no key for signature"); continue
            case .records(let texts):
                var firstError: DKIMError?
                var found: DKIMKeyRecord?
                for text in texts {
                    switch DKIMKeyRecordCache.record(text) {
                    case .success(let record): found = record
                    case .failure(let error): firstError = firstError ?? error
                    }
                    if found != nil { break }
                }
                guard let found else { conclude(.permerror, firstError?.reason ?? "no key for signature"); continue }
                record = found
            }
            result.testing = record.isTesting
            do throws(DKIMError) { try record.check(against: signature.algorithm) } catch {
                conclude(.permerror, error.reason)
                continue
            }
            if record.isStrict && signature.identityDomain != signature.domain {
                conclude(.permerror, "key t=s: i= must be in d= exactly")
                continue
            }
            let key: DKIMEVPKey
            switch record.keyType {
            case .rsa:
                guard let rsa = DKIMPublicKeyCache.shared.key(type: .rsa, octets: record.publicKey, parse: DKIMEVPKey.rsaPublicKey) else { conclude(.permerror, "key unavailable (p= is not an RSA public key)"); continue }
                guard rsa.bits >= 1024 else { conclude(.fail, "RSA key of \(rsa.bits) bits is too small (RFC 8301)"); continue }
                key = rsa
            case .ed25519:
                guard let ed = DKIMPublicKeyCache.shared.key(type: .ed25519, octets: record.publicKey, parse: DKIMEVPKey.ed25519PublicKey) else { conclude(.permerror, "key unavailable (p= is not 32 octets)"); continue }
                key = ed
            }
            let data = DKIMHeaderSelection.signedData(fields: headers, names: signature.signedHeaders, excluding: candidate.index,
                                                      signatureField: signature.fieldWithoutSignature,
                                                      canonicalization: signature.headerCanonicalization)
            if key.verify(signature: signature.signature, headerData: data) {
                conclude(.pass, nil)
            } else {
                conclude(.fail, "signature did not verify")
            }
        }
        return DKIMVerification(signatures: results, unchecked: unchecked)
    }
}
