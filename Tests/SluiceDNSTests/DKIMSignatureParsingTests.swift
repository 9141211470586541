import Foundation
import SluiceDNS
import Testing

/// DKIM-Signature and key record parsing: the tags a signature must have, FWS, `b=` removal, and
/// malformed fields as permerrors (never a trap).
@Suite struct DKIMSignatureParsingTests {
    static let good = "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.ORG; s=Sel;\r\n\th=From : To:subject; i=joe@mail.example.org; l=10;\r\n"
        + "\tt=100; x=200; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dGVz\r\n\t dA==  "

    static func field(_ value: String) -> DKIMHeaderField {
        DKIMHeaderField(name: "DKIM-Signature", raw: Array("DKIM-Signature: \(value)\r\n".utf8))
    }

    @Test func aCompleteSignatureParses() throws {
        let signature = try DKIMSignature(parsing: Self.field(Self.good))
        #expect(signature.algorithm == .rsaSHA256)
        #expect(signature.domain == "example.org" && signature.selector == "sel")
        #expect(signature.signedHeaders == ["from", "to", "subject"])
        #expect(signature.headerCanonicalization == .relaxed && signature.bodyCanonicalization == .simple)
        #expect(signature.bodyLength == 10 && signature.timestamp == 100 && signature.expiration == 200)
        #expect(signature.identity == "joe@mail.example.org" && signature.identityDomain == "mail.example.org")
        #expect(signature.signature == Array("test".utf8), "FWS inside b= removed")
        #expect(signature.bodyHash.count == 32)
        #expect(signature.keyName == "sel._domainkey.example.org")
        let stripped = String(decoding: signature.fieldWithoutSignature, as: UTF8.self)
        #expect(stripped.hasSuffix("\r\n\tb=\r\n"), "b='s value and the FWS around it deleted: \(stripped)")
    }

    @Test func defaults() throws {
        let signature = try DKIMSignature(parsing: Self.field("v=1;a=ed25519-sha256;d=example.org;s=s;h=from;bh=AAAA;b=AAAA;"))
        #expect(signature.headerCanonicalization == .simple && signature.bodyCanonicalization == .simple)
        #expect(signature.identity == "@example.org" && signature.bodyLength == nil)
        let relaxedOnly = try DKIMSignature(parsing: Self.field("v=1;a=rsa-sha256;c=relaxed;d=example.org;s=s;h=from;bh=AAAA;b=AAAA"))
        #expect(relaxedOnly.headerCanonicalization == .relaxed && relaxedOnly.bodyCanonicalization == .simple)
    }

    static let base = "v=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=AAAA; b=AAAA"

    static func replacing(_ old: String, _ new: String) -> String { base.replacingOccurrences(of: old, with: new) }
    static func adding(_ tag: String) -> String { base + "; " + tag }

    static let malformed: [(String, String)] = {
        var cases: [(String, String)] = []
        cases.append(("missing v=", "a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA"))
        cases.append(("v=2", replacing("v=1", "v=2")))
        cases.append(("missing a=", replacing("a=rsa-sha256; ", "")))
        cases.append(("unknown a=", replacing("rsa-sha256", "rsa-md5")))
        cases.append(("missing b=", replacing("; b=AAAA", "")))
        cases.append(("empty b=", replacing("b=AAAA", "b=")))
        cases.append(("missing bh=", replacing("bh=AAAA; ", "")))
        cases.append(("missing d=", replacing("d=example.org; ", "")))
        cases.append(("missing s=", replacing("s=s; ", "")))
        cases.append(("missing h=", replacing("h=from:to; ", "")))
        cases.append(("h= without from", replacing("h=from:to", "h=to:subject")))
        cases.append(("h= with an empty name", replacing("h=from:to", "h=from::to")))
        cases.append(("bad base64 in b=", replacing("b=AAAA", "b=A*A")))
        cases.append(("bad base64 in bh=", replacing("bh=AAAA", "bh=AAA")))
        cases.append(("i= not under d=", adding("i=joe@example.com")))
        cases.append(("i= a suffix but not a subdomain", adding("i=@badexample.org")))
        cases.append(("i= without @", adding("i=example.org")))
        cases.append(("duplicate tag", adding("d=example.org")))
        cases.append(("tag without =", adding("junk")))
        cases.append(("bad tag name", adding("9x=1")))
        cases.append(("unknown c=", adding("c=relaxed/fancy")))
        cases.append(("c= with three parts", adding("c=simple/simple/simple")))
        cases.append(("bad l=", adding("l=-1")))
        cases.append(("bad t=", adding("t=soon")))
        cases.append(("x= before t=", adding("t=200; x=100")))
        cases.append(("q= without dns/txt", adding("q=http")))
        cases.append(("control character in a value", adding("z=a\u{01}b")))
        cases.append(("d= with a space", replacing("d=example.org", "d=exa mple.org")))
        cases.append(("empty", ""))
        return cases
    }()

    @Test(arguments: malformed)
    func malformedSignaturesAreErrors(_ what: String, _ value: String) async {
        #expect(throws: DKIMError.self, "\(what)") { try DKIMSignature(parsing: Self.field(value)) }
        // And through the verifier: a permerror with a reason, no lookup.
        let fields = [Self.field(value), DKIMHeaderField(raw: Array("From: a@example.org\r\n".utf8))!]
        let verification = await DKIMVerifier(headers: fields).finish(now: Date()) { _ in
            Issue.record("no lookup for \(what)")
            return .notFound
        }
        #expect(verification.signatures.count == 1)
        #expect(verification.signatures.first?.result == .permerror, "\(what)")
        #expect(verification.signatures.first?.reason?.isEmpty == false)
        #expect(verification.result == .permerror)
    }

    @Test func noSignatureIsNoneAndTheCapCounts() async {
        let from = DKIMHeaderField(raw: Array("From: a@example.org\r\n".utf8))!
        #expect(await DKIMVerifier(headers: [from]).finish(now: Date()) { _ in .notFound }.result == .none)
        let many = Array(repeating: Self.field(Self.base), count: 7) + [from]
        let verification = await DKIMVerifier(headers: many).finish(now: Date()) { _ in .notFound }
        #expect(verification.signatures.count == 5 && verification.unchecked == 2)
    }

    @Test func keyRecords() throws {
        let rsa = try DKIMKeyRecord(parsing: "v=DKIM1; p=AAAA")
        #expect(rsa.keyType == .rsa && rsa.publicKey == [0, 0, 0] && rsa.serviceTypes == ["*"] && !rsa.isTesting)
        let ed = try DKIMKeyRecord(parsing: " k=ed25519 ; t=y:s; h=sha256; s=email; p=AA AA ;")
        #expect(ed.keyType == .ed25519 && ed.isTesting && ed.isStrict && ed.hashAlgorithms == ["sha256"])
        for (what, text) in [("revoked", "v=DKIM1; p="), ("no p=", "v=DKIM1; k=rsa"), ("unknown k=", "k=dsa; p=AAAA"),
                             ("v= not first", "p=AAAA; v=DKIM1"), ("wrong v=", "v=DKIM2; p=AAAA"), ("bad base64", "p=!!!!"),
                             ("syntax", "v=DKIM1; p")] {
            #expect(throws: DKIMError.self, "\(what)") { try DKIMKeyRecord(parsing: text) }
        }
        #expect((try? DKIMKeyRecord(parsing: "v=DKIM1; p="))?.keyType == nil)
        do { _ = try DKIMKeyRecord(parsing: "v=DKIM1; p=") } catch { #expect(error.reason.contains("revoked")) }
    }

    @Test func signingKeysThatCannotSign() {
        #expect(throws: DKIMError.self) { try DKIMPrivateKey(pem: "not a key") }
        #expect(throws: DKIMError.self) { try DKIMPrivateKey(contentsOfFile: "/nonexistent/key.pem") }
        let key = try? DKIMPrivateKey(pem: DKIMTestKeys.ed25519)
        #expect(key?.algorithm == .ed25519SHA256)
        #expect(key?.publicKeyRecord.hasPrefix("v=DKIM1; k=ed25519; p=") == true)
        #expect(throws: DKIMError.self) { try DKIMSigner(key: key!, domain: "exa;mple.org", selector: "s") }
        #expect(throws: DKIMError.self) { try DKIMSigner(key: key!, domain: "example.org", selector: "s", identity: "a@example.com") }
    }
}
