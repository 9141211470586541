import SluicePolicy
import Testing

@Suite struct DetectorHostileInputTests {
    /// Inputs that would make a backtracking matcher slow, each 256 KiB (time is not measured here:
    /// these machines are shared; FuzzDetectors' per-input timeout and the benchmark catch a slow path).
    static let units = ["1", "1 ", "4111 ", "4111-", "4111 1111 ", "41111111111111111 ", "0.", "GB82 ", "GB82 WEST ",
                        "GB82WEST1234", "4-", "DE89 3704 0044 0532 0130 00 "]

    @Test(arguments: units)
    func repeatedNearMissesGiveConsistentFindings(unit: String) {
        let text = String(repeating: unit, count: (1 << 18) / unit.utf8.count)
        for detector in BuiltinDetector.all {
            let matches = detector.matches(in: text)
            #expect(detector.count(in: text) == matches.count)
            #expect(zip(matches, matches.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
        }
    }

    @Test func arbitraryBytesGiveOrderedInBoundsFindings() {
        var state: UInt64 = 12345
        var bytes: [UInt8] = []
        let alphabet = Array("0123456789 -.GBDEx\u{00}\u{FF}".utf8)
        for _ in 0..<200_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(alphabet[Int(state >> 33) % alphabet.count])
        }
        bytes.withUnsafeBytes { buffer in
            for detector in BuiltinDetector.all {
                let matches = detector.matches(in: buffer)
                var previousEnd = 0
                for match in matches {
                    #expect(match.offset >= previousEnd && match.length > 0 && match.offset + match.length <= buffer.count)
                    previousEnd = match.offset + match.length
                }
                #expect(detector.count(in: buffer) == matches.count)
                #expect(detector.first(in: buffer) == matches.first)
            }
        }
    }

    @Test func emptyInputHasNoFindings() {
        for detector in BuiltinDetector.all {
            #expect(detector.matches(in: UnsafeRawBufferPointer(start: nil, count: 0)).isEmpty)
            #expect(detector.count(in: "") == 0)
        }
    }
}
