/// Byte classes the detectors scan with. A "word" character is an ASCII letter or digit; every other
/// byte, including all of non-ASCII UTF-8 text, is a boundary.
enum DetectorBytes {
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- UInt8(ascii: "a") < 26 }

    @inline(__always) static func isWordByte(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }

    /// The index of the first ASCII digit at or after `start`, or `end`. This is where the detectors
    /// spend their time over ordinary text, so it reads eight bytes at a time where it can.
    static func nextDigit(_ input: UnsafeBufferPointer<UInt8>, from start: Int, end: Int) -> Int {
        var index = start
        if let base = input.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= end {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if hasDigit(word) { break }
                index += 8
            }
        }
        while index < end, !isDigit(input[index]) { index += 1 }
        return index
    }

    /// Whether any of the eight bytes is in 0x30...0x39 (exact: a SWAR range test per byte).
    @inline(__always) private static func hasDigit(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        // For bytes below 0x80: (b + (0x80 - 0x30)) has the high bit iff b >= 0x30; (b + (0x80 - 0x3A))
        // has it iff b >= 0x3A. Bytes at or above 0x80 are excluded by the mask.
        let low7 = word & ~high
        let atLeast30 = low7 &+ ones &* (0x80 - 0x30)
        let atLeast3A = low7 &+ ones &* (0x80 - 0x3A)
        return (atLeast30 & ~atLeast3A & ~word & high) != 0
    }
}
