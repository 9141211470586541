import Foundation
import SluiceDNS
import SluiceTestSupport
import Testing

/// DKIM canonicalisation (RFC 6376 §3.4): the §3.4.5 example byte for byte, the empty-body rules,
/// header selection, and the incremental body hasher giving one hash whatever the chunking.
@Suite struct DKIMCanonicalizationTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// RFC 6376 §3.4.5's example message.
    static let example = bytes("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n")

    static func canonicalBody(_ body: [UInt8], _ canonicalization: DKIMCanonicalization, chunks: [Int]? = nil) -> [UInt8] {
        var canonicalizer = DKIMBodyCanonicalizer(canonicalization)
        var output: [UInt8] = []
        var rest = body[...]
        for size in chunks ?? [body.count] where !rest.isEmpty {
            canonicalizer.feed(Array(rest.prefix(size)), into: &output)
            rest = rest.dropFirst(size)
        }
        if !rest.isEmpty { canonicalizer.feed(Array(rest), into: &output) }
        canonicalizer.finish(into: &output)
        return output
    }

    /// RFC 6376 §3.4.3/§3.4.4 done the plain way, on a whole body: split at CRLF, fix each line,
    /// drop trailing empty lines.
    static func referenceBody(_ body: [UInt8], _ canonicalization: DKIMCanonicalization) -> [UInt8] {
        var lines: [[UInt8]] = [], line: [UInt8] = [], index = 0
        while index < body.count {
            if body[index] == 0x0D && index + 1 < body.count && body[index + 1] == 0x0A {
                lines.append(line)
                line = []
                index += 2
            } else {
                line.append(body[index])
                index += 1
            }
        }
        if !line.isEmpty { lines.append(line) }
        if canonicalization == .relaxed {
            lines = lines.map { line in
                var fixed: [UInt8] = [], space = false
                for octet in line {
                    if octet == 0x20 || octet == 0x09 { space = true; continue }
                    if space { fixed.append(0x20); space = false }
                    fixed.append(octet)
                }
                return fixed
            }
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        if lines.isEmpty { return canonicalization == .simple ? [0x0D, 0x0A] : [] }
        return lines.flatMap { $0 + [0x0D, 0x0A] }
    }

    /// Random bodies made of the octets canonicalisation cares about, fed in random chunks, against
    /// the plain version (the canonicaliser works on runs and eight octets at a time).
    @Test(arguments: DKIMCanonicalization.allCases)
    func randomBodiesMatchTheReference(_ canonicalization: DKIMCanonicalization) {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x61, 0x62, 0x20, 0x20, 0x09, 0x0D, 0x0A, 0x0D, 0x0A, 0x7E]
        for round in 0..<3000 {
            let length = round < 100 ? round : Int.random(in: 0...(round % 10 == 0 ? 5000 : 120), using: &generator)
            let body = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let expected = Self.referenceBody(body, canonicalization)
            var chunks: [Int] = []
            var left = length
            while left > 0 {
                let size = Int.random(in: 1...max(1, min(left, Bool.random(using: &generator) ? 3 : 40)), using: &generator)
                chunks.append(size)
                left -= size
            }
            let whole = Self.canonicalBody(body, canonicalization)
            let chunked = Self.canonicalBody(body, canonicalization, chunks: chunks)
            #expect(whole == expected, "body \(body)")
            #expect(chunked == expected, "body \(body) in chunks \(chunks)")
            var one = DKIMBodyHasher(canonicalization: canonicalization), many = DKIMBodyHasher(canonicalization: canonicalization)
            one.update(body)
            var rest = body[...]
            for size in chunks {
                many.update(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            let (a, b) = (one.finish(), many.finish())
            #expect(a == b)
            #expect(a.canonicalLength == expected.count)
            if whole != expected || chunked != expected || a != b { return }
        }
    }

    @Test func theRFCExampleHeadersCanonicalise() {
        let (fields, bodyOffset) = DKIMHeaderField.split(Self.example)
        #expect(fields.map(\.name) == ["A", "B"])
        #expect(bodyOffset == 22)
        #expect(fields.flatMap { DKIMCanonicalization.relaxed.canonicalize($0) } == Self.bytes("a:X\r\nb:Y Z\r\n"))
        #expect(fields.flatMap { DKIMCanonicalization.simple.canonicalize($0) } == Self.bytes("A: X\r\nB : Y\t\r\n\tZ  \r\n"))
    }

    @Test func theRFCExampleBodyCanonicalises() {
        let body = Array(Self.example[22...])
        #expect(Self.canonicalBody(body, .relaxed) == Self.bytes(" C\r\nD E\r\n"))
        #expect(Self.canonicalBody(body, .simple) == Self.bytes(" C \r\nD \t E\r\n"))
    }

    @Test func emptyBodiesAndMissingFinalCRLF() {
        #expect(Self.canonicalBody([], .simple) == Self.bytes("\r\n"))
        #expect(Self.canonicalBody([], .relaxed) == [])
        #expect(Self.canonicalBody(Self.bytes("\r\n\r\n"), .simple) == Self.bytes("\r\n"))
        #expect(Self.canonicalBody(Self.bytes("\r\n \t\r\n"), .relaxed) == [], "a line of WSP is empty under relaxed")
        #expect(Self.canonicalBody(Self.bytes("\r\n \t\r\n"), .simple) == Self.bytes("\r\n \t\r\n"))
        #expect(Self.canonicalBody(Self.bytes("abc"), .simple) == Self.bytes("abc\r\n"))
        #expect(Self.canonicalBody(Self.bytes("abc  "), .relaxed) == Self.bytes("abc\r\n"))
        #expect(Self.canonicalBody(Self.bytes("a\rb\nc\r"), .simple) == Self.bytes("a\rb\nc\r\r\n"), "bare CR and LF are content")
        #expect(Self.canonicalBody(Self.bytes("x\r\n\r\n\r\ny\r\n\r\n"), .relaxed) == Self.bytes("x\r\n\r\n\r\ny\r\n"), "inner empty lines kept")
    }

    @Test func knownBodyHashes() {
        // Well-known values: SHA-256 of CRLF (simple, empty body) and of nothing (relaxed, empty body).
        #expect(Data(DKIMBodyHasher(canonicalization: .simple).finish().digest).base64EncodedString()
                == "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=")
        #expect(Data(DKIMBodyHasher(canonicalization: .relaxed).finish().digest).base64EncodedString()
                == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    }

    static let chunkingBody = bytes("Line one \t here\r\n\r\n  indented\t\r\nbare\rCR\r\n\r\n \r\n\t\r\n\r\n")

    static func hash(_ body: [UInt8], _ parameters: DKIMBodyHashParameters, chunks: [Int]) -> DKIMBodyHash {
        var hasher = DKIMBodyHasher(parameters)
        var rest = body[...]
        var index = 0
        while !rest.isEmpty {
            let size = chunks.isEmpty ? rest.count : max(1, chunks[index % chunks.count])
            hasher.update(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
            index += 1
        }
        return hasher.finish()
    }

    @Test(arguments: DKIMCanonicalization.allCases, [nil, 0, 5, 20, 33, 1000] as [Int?])
    func everyChunkingGivesTheSameHash(_ canonicalization: DKIMCanonicalization, _ length: Int?) {
        let parameters = DKIMBodyHashParameters(canonicalization: canonicalization, length: length)
        let body = Self.chunkingBody
        let whole = Self.hash(body, parameters, chunks: [])
        // The reference: canonicalise in one go, then hash the first l octets.
        let canonical = Self.canonicalBody(body, canonicalization)
        #expect(whole.canonicalLength == canonical.count)
        #expect(whole.hashedLength == min(length ?? Int.max, canonical.count))
        // Every split into two pieces (inside each CRLF and each trailing blank line), then 1-octet
        // and uneven chunkings.
        for split in 0...body.count {
            #expect(Self.hash(body, parameters, chunks: [split, body.count]) == whole, "split at \(split)")
            #expect(Self.canonicalBody(body, canonicalization, chunks: [split, body.count]) == canonical, "split at \(split)")
        }
        for chunks in [[1], [2], [3], [1, 2, 5], [7, 1], [4, 13]] {
            #expect(Self.hash(body, parameters, chunks: chunks) == whole, "chunks \(chunks)")
        }
        // A hasher is a value: finishing a copy midway leaves the original to go on.
        var hasher = DKIMBodyHasher(parameters)
        hasher.update(Array(body.prefix(10)))
        _ = hasher.finish()
        hasher.update(Array(body.dropFirst(10)))
        #expect(hasher.finish() == whole)
    }

    /// A line longer than the hasher's buffer after a short one (unwrapped HTML): the digest is the
    /// SHA-256 of the canonical body in order, as the openssl CLI computes it.
    @Test(arguments: DKIMCanonicalization.allCases)
    func aLongLineAfterAShortOneHashesInOrder(_ canonicalization: DKIMCanonicalization) async throws {
        let body = Self.bytes("Hi\r\n" + String(repeating: "x", count: 5000) + "\r\nbye\r\n" + String(repeating: "y", count: 20000) + "\r\n")
        let canonical = String(decoding: Self.referenceBody(body, canonicalization), as: UTF8.self)
        let openssl = try await ExternalTool.run("openssl", ["dgst", "-sha256", "-hex"], stdin: canonical)
        let expected = try #require(openssl.stdout.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
        for chunks in [[body.count], [3], [4, 5000], [4096]] {
            let hash = Self.hash(body, .init(canonicalization: canonicalization, length: nil), chunks: chunks)
            #expect(hash.digest.map { String(format: "%02x", $0) }.joined() == expected, "chunks \(chunks)")
        }
    }

    @Test func lengthLimitHashesThePrefixOfTheCanonicalBody() {
        let body = Self.bytes("Hello  world\r\nsecond line\r\n")
        let hash = Self.hash(body, .init(canonicalization: .relaxed, length: 5), chunks: [3])
        #expect(Data(hash.digest).base64EncodedString() == "GF+NsyJx/iX1Yab8k4suJkMG7DBO2lGAB9F2SCY4GWk=", "sha256(\"Hello\")")
        #expect(hash.hashedLength == 5 && hash.canonicalLength == 26 && !hash.coversWholeBody)
    }

    @Test func headerSelectionIsBottomUpAndMissingNamesAreNull() async throws {
        let message = Self.bytes("Received: one\r\nX-A: first\r\nFrom: a@example.org\r\nX-A: second\r\nSubject: s\r\n\r\n")
        let (fields, _) = DKIMHeaderField.split(message)
        // Each present instance listed, over-signed names once more, absent ones not at all; the
        // verifier (bottom-up picking, a missing instance as the null string) agrees, and notices
        // when the two X-A fields swap places.
        let key = try DKIMPrivateKey(pem: DKIMTestKeys.ed25519)
        let signer = try DKIMSigner(key: key, domain: "example.org", selector: "s", signedHeaders: ["x-a", "from", "nothing"],
                                    oversignedHeaders: ["from", "x-a"])
        let field = try signer.sign(headers: fields, bodyHash: signer.makeBodyHasher().finish(), now: Date())
        let text = String(decoding: field.raw, as: UTF8.self)
        #expect(text.contains("h=x-a:x-a:x-a:from:from;"))
        #expect(!text.contains("nothing"))
        for line in text.components(separatedBy: "\r\n") { #expect(line.count <= 78, "folded: \(line)") }
        let record = key.publicKeyRecord
        func verify(_ fields: [DKIMHeaderField]) async -> DKIMResult {
            await DKIMVerifier(headers: [field] + fields).finish(now: Date()) { _ in .records([record]) }.result
        }
        #expect(await verify(fields) == .pass)
        var swapped = fields
        swapped.swapAt(1, 3)
        #expect(await verify(swapped) == .fail)
        #expect(await verify(fields + [DKIMHeaderField(raw: Self.bytes("From: evil@example.com\r\n"))!]) == .fail, "over-signed From")
        #expect(await verify(fields + [DKIMHeaderField(raw: Self.bytes("To: added@example.com\r\n"))!]) == .pass, "To not signed")
    }
}
