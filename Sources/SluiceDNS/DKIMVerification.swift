/// A DKIM result, as RFC 8601 names them (`dkim=pass`, …).
public enum DKIMResult: String, Sendable, Hashable {
    /// No DKIM-Signature field at all.
    case none
    case pass
    /// The signature or the body hash did not verify (or the key is too weak).
    case fail
    case policy
    case neutral
    /// The key lookup failed temporarily.
    case temperror
    /// The signature or the key record is unusable: a syntax error, a missing or revoked key, an
    /// expired signature, an algorithm not accepted (rsa-sha1).
    case permerror
}

/// The verdict on one DKIM-Signature field.
public struct DKIMSignatureResult: Sendable, Hashable {
    public var result: DKIMResult
    /// `d=`, `s=` and `a=` (in lower case; empty when the field did not even say).
    public var domain: String
    public var selector: String
    public var algorithm: String
    /// `i=` (or `@d=`); nil when the field did not parse.
    public var identity: String?
    /// Why it is not a pass (nil for a pass): for `Authentication-Results` comments and the log.
    public var reason: String?
    /// False when `l=` left part of the body unsigned: content may have been appended, so a rule may
    /// treat a pass with this flag down as no signature (Sluice's conservative handling of `l=`).
    public var bodyFullySigned: Bool
    /// The key record says `t=y` (the domain is testing DKIM).
    public var testing: Bool

    public init(result: DKIMResult, domain: String, selector: String, algorithm: String, identity: String? = nil,
                reason: String? = nil, bodyFullySigned: Bool = true, testing: Bool = false) {
        self.result = result
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.identity = identity
        self.reason = reason
        self.bodyFullySigned = bodyFullySigned
        self.testing = testing
    }
}

/// Every DKIM-Signature's verdict, in header order (the most recent signature first).
public struct DKIMVerification: Sendable, Hashable {
    public var signatures: [DKIMSignatureResult]
    /// DKIM-Signature fields beyond the verifier's cap, not checked.
    public var unchecked: Int

    public init(signatures: [DKIMSignatureResult], unchecked: Int = 0) {
        self.signatures = signatures
        self.unchecked = unchecked
    }

    /// One word for the message: `none` without signatures; `pass` if any signature passed; else
    /// `temperror` if any lookup failed temporarily (a retry may pass), then `fail`, `permerror`,
    /// `neutral`, in that order.
    public var result: DKIMResult {
        if signatures.isEmpty { return unchecked > 0 ? .neutral : .none }
        for candidate in [DKIMResult.pass, .temperror, .fail, .permerror, .policy, .neutral]
        where signatures.contains(where: { $0.result == candidate }) {
            return candidate
        }
        return .neutral
    }

    /// The `d=` domains of the passing signatures that cover the whole body (what DMARC alignment
    /// and rules should trust).
    public var passingDomains: [String] {
        signatures.filter { $0.result == .pass && $0.bodyFullySigned }.map(\.domain)
    }
}

/// What a key lookup (a TXT query at `SELECTOR._domainkey.DOMAIN`) found.
public enum DKIMKeyLookup: Sendable, Hashable {
    /// The TXT records, each with its character-strings joined.
    case records([String])
    /// NXDOMAIN or no TXT record.
    case notFound
    /// SERVFAIL, a timeout: the key is unknown for now.
    case temporaryFailure
}
