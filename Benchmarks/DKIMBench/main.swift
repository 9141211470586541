// DKIM throughput of SluiceDNS, without DNS or sockets: signatures/s and verifications/s for
// RSA-2048 and Ed25519 on a realistic 4 KiB message (12 header fields), each the whole per-message
// work (split the header, hash the body, sign; or split, parse the signature, hash the body, check
// it, parse the key record from an in-memory lookup, verify), and body hashing MB/s (10^6 octets)
// for a 1 MiB body, relaxed and simple. Each measurement runs for SECONDS (default 2) after a
// short warm-up. Keys are made at start by `openssl genpkey` in a temporary folder.
//
// usage: DKIMBench [SECONDS]
import Foundation
import SluiceDNS

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 2 : 2

func fail(_ text: String) -> Never {
    FileHandle.standardError.write(Data("DKIMBench: \(text)\n".utf8))
    exit(2)
}

/// Runs openssl with `arguments` (posix_spawnp, output left alone) and waits for it.
func openssl(_ arguments: [String]) -> Bool {
    let argv: [UnsafeMutablePointer<CChar>?] = (["openssl"] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    guard posix_spawnp(&pid, "openssl", nil, nil, argv, environ) == 0 else { return false }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status == 0
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dkimbench-\(getpid())").path
do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
    fail("cannot make \(directory): \(error)")
}

func makeKey(_ name: String, _ arguments: [String]) -> DKIMPrivateKey {
    let path = directory + "/\(name).pem"
    guard openssl(["genpkey", "-quiet"] + arguments + ["-out", path]) else { fail("openssl genpkey \(arguments) failed") }
    do { return try DKIMPrivateKey(contentsOfFile: path) } catch { fail("\(name): \(error.reason)") }
}

let keys = [("rsa-sha256 (2048-bit)", makeKey("rsa2048", ["-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048"])),
            ("ed25519-sha256", makeKey("ed25519", ["-algorithm", "ed25519"]))]
try? FileManager.default.removeItem(atPath: directory)

// A 4 KiB message: 12 header fields, a text body of 76-column lines (some with trailing spaces and
// runs of blanks, as relaxed canonicalisation must handle).
let header = """
    Received: from mail.example.org (mail.example.org [192.0.2.10])\r
    \tby mx.example.net (Sluice) with ESMTPS id 4QbC1x2Yz9z\r
    \tfor <bob@example.net>; Mon, 1 Dec 2025 10:00:00 +0000\r
    Received: from [10.0.0.5] (unknown [10.0.0.5])\r
    \tby mail.example.org (Postfix) with ESMTPSA id 1A2B3C4D5E\r
    \tfor <bob@example.net>; Mon, 1 Dec 2025 09:59:58 +0000\r
    From: Alice Example <alice@example.org>\r
    To: Bob Example <bob@example.net>, carol@example.net\r
    Cc: dave@example.com\r
    Subject: Quarterly report: figures for review before Friday's meeting\r
    Date: Mon, 1 Dec 2025 09:59:57 +0000\r
    Message-ID: <20251201095957.1A2B3C4D5E@mail.example.org>\r
    Reply-To: Alice Example <alice@example.org>\r
    MIME-Version: 1.0\r
    Content-Type: text/plain; charset=utf-8; format=flowed\r
    Content-Transfer-Encoding: 8bit\r
    \r

    """
func textBody(octets: Int) -> String {
    let words = ["the", "quarterly", "figures", "are", "attached", "below", "please", "review", "and", "reply",
                 "before", "Friday", "revenue", "grew", "by", "four", "percent", "while", "costs", "held"]
    var body = "", line = "", index = 0
    while body.utf8.count < octets {
        let word = words[index % words.count]
        index += 1
        if line.count + word.count + 1 > 74 {
            body += line + (index % 7 == 0 ? "  " : "") + "\r\n"
            line = ""
            if index % 23 == 0 { body += "\r\n" }
        }
        line += (line.isEmpty ? "" : (index % 11 == 0 ? "   " : " ")) + word
    }
    return body + line + "\r\n"
}
let message = Array((header + textBody(octets: 4096 - header.utf8.count - 64)).utf8)
let (fields, bodyOffset) = DKIMHeaderField.split(message)
let now = Date()

/// Runs `body` for `seconds` (after a warm-up of a tenth of that); the iterations per second.
func measure(_ body: () async throws -> Void) async rethrows -> (rate: Double, count: Int, elapsed: Double) {
    let clock = ContinuousClock()
    let warm = clock.now.advanced(by: .milliseconds(Int(seconds * 100)))
    while clock.now < warm { try await body() }
    let start = clock.now
    var count = 0, elapsed = 0.0
    repeat {
        try await body()
        count += 1
        let duration = clock.now - start
        elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    } while elapsed < seconds
    return (Double(count) / elapsed, count, elapsed)
}

/// Everything measured, off the main actor: a closure made at top level would run on the main thread,
/// and each call (and each `await`) would hop between it and the pool.
func run() async throws {
    var check = 0
    print("message: \(message.count) octets, \(fields.count) header fields, \(message.count - bodyOffset) octets of body")
    for (name, key) in keys {
        let signer: DKIMSigner
        do { signer = try DKIMSigner(key: key, domain: "example.org", selector: "bench") } catch { fail(error.reason) }
        let sign = { () throws -> DKIMHeaderField in
            let (fields, offset) = DKIMHeaderField.split(message)
            var hasher = signer.makeBodyHasher()
            message.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            return try signer.sign(headers: fields, bodyHash: hasher.finish(), now: now)
        }
        let signing = try await measure { check &+= Int(try sign().raw.last ?? 0) }
        print(String(format: "sign %@ relaxed/relaxed: %.0f signatures/s (%d in %.1f s)", name, signing.rate, signing.count, signing.elapsed))

        let signed = try sign().raw + message
        let record = key.publicKeyRecord
        let verifying = await measure {
            let (fields, offset) = DKIMHeaderField.split(signed)
            var verifier = DKIMVerifier(headers: fields)
            signed.withUnsafeBytes { verifier.update(body: UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            let verdict = await verifier.finish(now: now) { @Sendable name in
                name == "bench._domainkey.example.org" ? .records([record]) : .notFound
            }
            guard verdict.result == .pass else { fail("\(name): the signature did not verify: \(verdict)") }
            check &+= verdict.signatures.count
        }
        print(String(format: "verify %@ relaxed/relaxed: %.0f verifications/s (%d in %.1f s)", name, verifying.rate, verifying.count,
                     verifying.elapsed))
    }

    let mebibyte = Array(textBody(octets: 1 << 20).utf8.prefix(1 << 20))
    for canonicalization in [DKIMCanonicalization.relaxed, .simple] {
        let hashing = await measure {
            var hasher = DKIMBodyHasher(canonicalization: canonicalization)
            mebibyte.withUnsafeBytes { all in
                for start in stride(from: 0, to: all.count, by: 65536) {
                    hasher.update(UnsafeRawBufferPointer(rebasing: all[start..<min(all.count, start + 65536)]))
                }
            }
            check &+= Int(hasher.finish().digest[0])
        }
        print(String(format: "body hash %@, 1 MiB body in 64 KiB chunks: %.1f MB/s (%d bodies in %.1f s)", canonicalization.rawValue,
                     hashing.rate * Double(mebibyte.count) / 1e6, hashing.count, hashing.elapsed))
    }
    if check == 42 { print("") }  // keeps the results used
}

try await run()
