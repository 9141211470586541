import Foundation
@testable import SluiceDNS
import Testing

/// The octet-level base64 decoder of `b=`, `bh=` and `p=`, against Foundation's `Data(base64Encoded:)`
/// (which it replaced): the same octets wherever it decodes, nothing Foundation refuses, and strict
/// RFC 4648 padding where Foundation is lenient; and key records are parsed once by their text.
@Suite struct DKIMBase64Tests {
    /// Seeded: the same strings every run.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }

    @Test func decodesWhatFoundationDecodesAndNoMore() {
        var random = Generator(state: 42)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var accepted = 0
        for round in 0..<4000 {
            var text: [UInt8]
            if round % 2 == 0 {
                // Valid base64 of random octets, sometimes damaged by one octet.
                let octets = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                text = Array(Data(octets).base64EncodedString().utf8)
                if round % 4 == 0, !text.isEmpty {
                    let damage: [UInt8] = [UInt8(ascii: "="), UInt8(ascii: "*"), UInt8(ascii: "-"), 0x80, UInt8(ascii: "A")]
                    text[Int.random(in: 0..<text.count, using: &random)] = damage.randomElement(using: &random)!
                }
            } else {
                // Random strings over the alphabet and padding, of any length.
                text = (0..<Int.random(in: 1...13, using: &random)).map { _ in
                    Int.random(in: 0..<8, using: &random) == 0 ? UInt8(ascii: "=") : alphabet.randomElement(using: &random)!
                }
            }
            let expected = Data(base64Encoded: String(decoding: text, as: UTF8.self)).map(Array.init)
            let decoded = text.isEmpty ? [] : DKIMTagList.decodeBase64(text)
            if let decoded {
                #expect(decoded == expected, "\(String(decoding: text, as: UTF8.self))")
                accepted += 1
            }
            if round % 4 == 2 { #expect(decoded != nil, "what Foundation encodes decodes") }
        }
        #expect(accepted >= 1000 && accepted < 3000, "both kinds were tried: \(accepted) accepted")
    }

    /// Where Foundation is lenient, RFC 4648 is kept: padding only to make up the last quantum.
    @Test func paddingIsStrict() {
        for text in ["ja=Q", "jAQ==", "jA===", "====", "jA=", "jAQ"] {
            #expect(DKIMTagList.decodeBase64(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(DKIMTagList.decodeBase64(Array("jAQ=".utf8)) == [140, 4])
        #expect(DKIMTagList.decodeBase64(Array("jA==".utf8)) == [140])
        #expect(DKIMTagList.decodeBase64(Array("QUJD".utf8)) == Array("ABC".utf8))
    }

    @Test func keyRecordsAreParsedOnceByTheirText() throws {
        let text = "v=DKIM1; k=ed25519; t=y; p=" + Data([UInt8](repeating: 7, count: 32)).base64EncodedString()
        let first = try DKIMKeyRecordCache.record(text).get()
        #expect(first == (try DKIMKeyRecord(parsing: text)))
        #expect(try DKIMKeyRecordCache.record(text).get() == first)
        guard case .failure(let error) = DKIMKeyRecordCache.record("v=DKIM1; p=") else { Issue.record("a revoked key parsed"); return }
        #expect(error.reason.contains("revoked"), "an error is kept as the error")
    }
}
