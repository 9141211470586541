import Foundation
import Testing
@testable import SluiceMIME

/// Hostile and random input: no crash, and chunking never changes the result.
struct RobustnessTests {
    static let seeds: [[UInt8]] = [
        Array(StructureTests.nested.utf8),
        Array("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=1B$B$3=1B(B =\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nSubject: =?utf-16?B?AGg=?=\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\nAGgAaQ=\r\n--a--\r\n".utf8),
    ]

    /// Deterministic mutations of the seeds, parsed whole, byte by byte and in random chunks.
    @Test func mutatedMessagesParseIdenticallyInAnyChunking() {
        var rng = SplitMix(seed: 42)
        let alphabet: [UInt8] = Array("-=?\r\n\t :;\"'*%/\\BQbq0aZ".utf8) + [0x00, 0x80, 0xFF, 0xC3, 0x1B]
        for round in 0..<300 {
            var bytes = Self.seeds[round % Self.seeds.count]
            for _ in 0..<(Int(rng.next() % 12) + 1) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 4 {
                case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default:
                    let n = min(bytes.count - at, Int(rng.next() % 40))
                    bytes.insert(contentsOf: bytes[at..<(at + n)], at: at)
                }
            }
            let whole = Parse.whole(bytes)
            #expect(Parse.chunked(bytes, seed: rng.next(), maxChunk: 13) == whole, "round \(round)")
            if round % 10 == 0 { #expect(Parse.byteByByte(bytes) == whole, "round \(round)") }
        }
    }

    @Test func randomBytesDoNotCrash() {
        var rng = SplitMix(seed: 9)
        for _ in 0..<200 {
            let bytes = (0..<Int(rng.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let whole = Parse.whole(bytes)
            #expect(Parse.chunked(bytes, seed: 5) == whole)
        }
    }

    @Test func emptyInputIsOneEmptyTextPart() {
        let m = Parse.whole([UInt8]())
        #expect(m.parts.count == 1)
        #expect(m.parts[0].contentType == "text/plain")
    }

    @Test func corpusFilesParseIdenticallyByteByByte() throws {
        for file in OracleTests.corpus {
            let bytes = try OracleTests.load(file)
            #expect(Parse.byteByByte(bytes) == Parse.whole(bytes), "\(file)")
        }
    }
}
