import Foundation
import SluiceDNS
import SluiceTestSupport
import Testing

/// DKIM against dkimpy (Debian's python3-dkim, through Tests/DNS/dkim_tool.py): what it signs,
/// Sluice verifies (and a changed body or header fails); what Sluice signs, it verifies. Keys are made
/// per test by the openssl CLI; key lookups are a closure over the test's record.
@Suite struct DKIMInteropTests {
    static let tool: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Tests/DNS/dkim_tool.py").path
    }()

    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    static let message = """
        Received: from a by b; Mon, 1 Dec 2025 10:00:00 +0000\r
        Received: from c by d; Mon, 1 Dec 2025 09:59:00 +0000\r
        From: Alice <alice@example.org>\r
        To: bob@example.net,\r
        \tcarol@example.net\r
        Subject:  Lunch   on\r
          Friday?\r
        Date: Mon, 1 Dec 2025 09:58:00 +0000\r
        Message-ID: <1@example.org>\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        X-A: first\r
        X-A: second\r
        \r
        Hi Bob,  \r
        \r
        \tlunch at noon?\r
        \r
        \r

        """

    struct Key {
        let pem: String
        /// The key record, derived with openssl (not with Sluice's code).
        let record: String
        let algorithm: String
        let path: String
    }

    /// `kind`: "rsa1024", "rsa2048", "rsa512" or "ed25519". `bareRSA`: publish PKCS#1 RSAPublicKey.
    static func makeKey(_ kind: String, in directory: String, bareRSA: Bool = false) async throws -> Key {
        let path = directory + "/\(kind).pem"
        let der = directory + "/\(kind).der"
        try await GeneratedKeys.shared.pem(kind).write(toFile: path, atomically: true, encoding: .utf8)
        let export = bareRSA ? ["rsa", "-in", path, "-RSAPublicKey_out", "-outform", "DER", "-out", der]
            : ["pkey", "-in", path, "-pubout", "-outform", "DER", "-out", der]
        let exported = try await ExternalTool.run("openssl", export)
        try #require(exported.status == 0, "openssl: \(exported.stderr)")
        var publicKey = try Data(contentsOf: URL(fileURLWithPath: der))
        // An Ed25519 SubjectPublicKeyInfo is a 12-octet prefix and the 32-octet key (RFC 8410).
        if kind == "ed25519" { publicKey = publicKey.suffix(32) }
        let type = kind == "ed25519" ? "ed25519" : "rsa"
        return Key(pem: try String(contentsOfFile: path, encoding: .utf8),
                   record: "v=DKIM1; k=\(type); p=\(publicKey.base64EncodedString())",
                   algorithm: kind == "ed25519" ? "ed25519-sha256" : "rsa-sha256", path: path)
    }

    static func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-dkim")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    static func dkimpySign(_ message: String, key: Key, canonicalization: String, length: Bool = false) async throws -> String {
        var arguments = [tool, "sign", "--key", key.path, "--selector", "sel", "--domain", "example.org",
                         "--canon", canonicalization, "--algo", key.algorithm,
                         "--headers", "from,to,subject,date,message-id,x-a,x-a"]
        if length { arguments.append("--length") }
        let result = try await ExternalTool.run(python, arguments, stdin: message)
        try #require(result.status == 0, "dkim_tool.py sign: \(result.stderr)")
        return result.stdout
    }

    static func verify(_ message: String, record: String, chunk: Int = 7) async -> DKIMVerification {
        let bytes = Array(message.utf8)
        let (fields, bodyOffset) = DKIMHeaderField.split(bytes)
        var verifier = DKIMVerifier(headers: fields)
        var index = bodyOffset
        while index < bytes.count {
            verifier.update(body: Array(bytes[index..<min(bytes.count, index + chunk)]))
            index += chunk
        }
        return await verifier.finish(now: Date()) { name in
            name == "sel._domainkey.example.org" ? .records(["v=spf1 -all", record]) : .notFound
        }
    }

    static func tamper(_ signed: String, _ old: String, _ new: String) -> String {
        signed.replacingOccurrences(of: old, with: new)
    }

    static let cases: [(String, String)] = ["rsa1024", "rsa2048", "ed25519"].flatMap { kind in
        ["relaxed/relaxed", "relaxed/simple", "simple/simple", "simple/relaxed"].map { (kind, $0) }
    }

    @Test(arguments: cases)
    func whatDkimpySignsVerifies(_ kind: String, _ canonicalization: String) async throws {
        try await Self.withDirectory { directory in
            let key = try await Self.makeKey(kind, in: directory)
            let signed = try await Self.dkimpySign(Self.message, key: key, canonicalization: canonicalization)
            let verification = await Self.verify(signed, record: key.record)
            let first = try #require(verification.signatures.first)
            #expect(first.result == .pass, "\(first.reason ?? "")")
            #expect(first.domain == "example.org" && first.selector == "sel" && first.algorithm == key.algorithm && first.bodyFullySigned)
            #expect(verification.result == .pass && verification.passingDomains == ["example.org"])

            let body = await Self.verify(Self.tamper(signed, "lunch at noon?", "lunch at one?"), record: key.record)
            #expect(body.signatures.first?.result == .fail && body.signatures.first?.reason == "body hash did not verify")
            let header = await Self.verify(Self.tamper(signed, "Subject:  Lunch", "Subject:  Dinner"), record: key.record)
            #expect(header.signatures.first?.result == .fail && header.signatures.first?.reason == "signature did not verify")
            let order = await Self.verify(Self.tamper(Self.tamper(signed, "X-A: first", "X-A: tmp"), "X-A: second", "X-A: first")
                .replacingOccurrences(of: "X-A: tmp", with: "X-A: second"), record: key.record)
            #expect(order.signatures.first?.result == .fail, "repeated fields are signed bottom-up, in order")
        }
    }

    @Test func lengthLimitedSignaturesPassButSayTheBodyWasNotFullyCovered() async throws {
        try await Self.withDirectory { directory in
            let key = try await Self.makeKey("ed25519", in: directory)
            let signed = try await Self.dkimpySign(Self.message, key: key, canonicalization: "relaxed/relaxed", length: true)
            let intact = await Self.verify(signed, record: key.record)
            #expect(intact.signatures.first?.result == .pass && intact.signatures.first?.bodyFullySigned == true)
            let appended = await Self.verify(signed + "Appended by someone else\r\n", record: key.record)
            #expect(appended.signatures.first?.result == .pass)
            #expect(appended.signatures.first?.bodyFullySigned == false && appended.passingDomains.isEmpty)
            let cut = await Self.verify(Self.tamper(signed, "\tlunch at noon?\r\n", ""), record: key.record)
            #expect(cut.signatures.first?.result == .permerror, "l= longer than the body")
        }
    }

    @Test func bareRSAPublicKeysSmallKeysAndKeyRecordProblems() async throws {
        try await Self.withDirectory { directory in
            let bare = try await Self.makeKey("rsa1024", in: directory, bareRSA: true)
            let signed = try await Self.dkimpySign(Self.message, key: bare, canonicalization: "relaxed/relaxed")
            #expect(await Self.verify(signed, record: bare.record).signatures.first?.result == .pass, "PKCS#1 RSAPublicKey in p=")

            for (record, expected) in [("v=DKIM1; k=rsa; p=", DKIMResult.permerror), ("v=DKIM1; k=ed25519; p=AAAA", .permerror),
                                       ("v=DKIM1; k=rsa; p=AAAA", .permerror), (bare.record + "; s=im", .permerror),
                                       (bare.record + "; h=sha1", .permerror), (bare.record + "; t=y", .pass)] {
                #expect(await Self.verify(signed, record: record).signatures.first?.result == expected, "\(record)")
            }
            let testing = await Self.verify(signed, record: bare.record + "; t=y")
            #expect(testing.signatures.first?.testing == true)

            let bytes = Array(signed.utf8)
            let (fields, bodyOffset) = DKIMHeaderField.split(bytes)
            var verifier = DKIMVerifier(headers: fields)
            verifier.update(body: Array(bytes[bodyOffset...]))
            let temp = await verifier.finish(now: Date()) { _ in .temporaryFailure }
            #expect(temp.result == .temperror)
            let missing = await verifier.finish(now: Date()) { _ in .notFound }
            #expect(missing.signatures.first?.result == .permerror && missing.signatures.first?.reason == "no key for signature")

            // A 512-bit key signs (dkimpy, told nothing about sizes) but fails here.
            let small = try await Self.makeKey("rsa512", in: directory)
            let weak = try await Self.dkimpySign(Self.message, key: small, canonicalization: "relaxed/relaxed")
            let verdict = await Self.verify(weak, record: small.record)
            #expect(verdict.signatures.first?.result == .fail, "\(verdict.signatures.first?.reason ?? "")")
            #expect(throws: DKIMError.self, "Sluice will not sign with it") { try DKIMPrivateKey(pem: small.pem) }
        }
    }

    @Test(arguments: ["rsa1024", "rsa2048", "ed25519"])
    func whatSluiceSignsDkimpyVerifies(_ kind: String) async throws {
        try await Self.withDirectory { directory in
            let key = try await Self.makeKey(kind, in: directory)
            let privateKey = try DKIMPrivateKey(contentsOfFile: key.path)
            #expect(privateKey.publicKeyRecord == key.record, "the record Sluice prints is openssl's")
            for (header, body) in [(DKIMCanonicalization.relaxed, DKIMCanonicalization.relaxed), (.simple, .simple), (.relaxed, .simple)] {
                let signer = try DKIMSigner(key: privateKey, domain: "Example.org", selector: "sel",
                                            signedHeaders: DKIMSigner.defaultSignedHeaders + ["x-a"],
                                            headerCanonicalization: header, bodyCanonicalization: body, lifetime: 3600)
                let bytes = Array(Self.message.utf8)
                let (fields, bodyOffset) = DKIMHeaderField.split(bytes)
                var hasher = signer.makeBodyHasher()
                for start in stride(from: bodyOffset, to: bytes.count, by: 5) {
                    hasher.update(Array(bytes[start..<min(bytes.count, start + 5)]))
                }
                let field = try signer.sign(headers: fields, bodyHash: hasher.finish(), now: Date())
                let signed = String(decoding: field.raw, as: UTF8.self) + Self.message
                for line in String(decoding: field.raw, as: UTF8.self).components(separatedBy: "\r\n") {
                    #expect(line.count <= 78)
                }
                let result = try await ExternalTool.run(Self.python, [Self.tool, "verify", "--record", key.record], stdin: signed)
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "True",
                        "dkimpy on \(header)/\(body): \(result.stdout) \(result.stderr)\n\(signed)")
                #expect(await Self.verify(signed, record: key.record).result == .pass, "Sluice verifies its own")
                let tampered = try await ExternalTool.run(Self.python, [Self.tool, "verify", "--record", key.record],
                                                          stdin: Self.tamper(signed, "noon", "one"))
                #expect(tampered.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "False")
            }
        }
    }

    @Test func expiredAndSHA1Signatures() async throws {
        let key = try DKIMPrivateKey(pem: DKIMTestKeys.ed25519)
        let signer = try DKIMSigner(key: key, domain: "example.org", selector: "sel", lifetime: 60)
        let (fields, _) = DKIMHeaderField.split(Array(Self.message.utf8))
        var hasher = signer.makeBodyHasher()
        hasher.update(Array("Hi Bob,  \r\n\r\n\tlunch at noon?\r\n\r\n\r\n".utf8))
        let then = Date(timeIntervalSince1970: 1_700_000_000)
        let field = try signer.sign(headers: fields, bodyHash: hasher.finish(), now: then)
        let signed = String(decoding: field.raw, as: UTF8.self) + Self.message
        let record = key.publicKeyRecord
        let (all, offset) = DKIMHeaderField.split(Array(signed.utf8))
        var verifier = DKIMVerifier(headers: all)
        verifier.update(body: Array(Array(signed.utf8)[offset...]))
        #expect(await verifier.finish(now: then.addingTimeInterval(30)) { _ in .records([record]) }.result == .pass)
        let late = await verifier.finish(now: then.addingTimeInterval(120)) { _ in .records([record]) }
        #expect(late.result == .permerror && late.signatures.first?.reason == "signature expired")

        let sha1 = DKIMHeaderField(raw: Array("DKIM-Signature: v=1; a=rsa-sha1; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA\r\n".utf8))!
        let old = await DKIMVerifier(headers: [sha1] + fields).finish(now: Date()) { _ in .records([record]) }
        #expect(old.signatures.first?.result == .permerror && old.signatures.first?.reason?.contains("rsa-sha1") == true)
        #expect(old.signatures.first?.algorithm == "rsa-sha1")
    }
}

/// Each kind of key made once per test run by the openssl CLI (an RSA-2048 key costs the machine a
/// while; a dozen of them at once slowed every other test), then written into each test's directory.
actor GeneratedKeys {
    static let shared = GeneratedKeys()
    private var made: [String: Task<String, Error>] = [:]

    func pem(_ kind: String) async throws -> String {
        if let task = made[kind] { return try await task.value }
        let task = Task { try await Self.generate(kind) }
        made[kind] = task
        return try await task.value
    }

    private static func generate(_ kind: String) async throws -> String {
        let directory = try TemporaryDirectory.make(prefix: "sluice-keys")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/key.pem"
        let generate: [String] = kind == "ed25519" ? ["genpkey", "-algorithm", "ed25519", "-out", path]
            : ["genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:\(kind.dropFirst(3))", "-out", path]
        let result = try await ExternalTool.run("openssl", generate)
        guard result.status == 0 else { throw ToolMissing(name: "openssl genpkey (\(result.stderr))") }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}
