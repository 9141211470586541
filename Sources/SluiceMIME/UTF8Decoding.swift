/// Decoding one UTF-8 sequence from bytes that may be malformed (a MIME part's decoded body need not
/// be valid UTF-8), with the replacement rules of the Unicode standard: a maximal invalid subpart
/// becomes one U+FFFD.
enum UTF8Decoding {
    /// The scalar starting at `index` (which must be below `end`) and how many bytes it took.
    static func scalar(in input: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> (Unicode.Scalar, Int) {
        let replacement = (Unicode.Scalar(0xFFFD)!, 1)
        let lead = input[index]
        let count: Int
        var value: UInt32
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF  // the valid range of the second byte
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: count = 2; value = UInt32(lead & 0x1F)
        case 0xE0: count = 3; value = 0; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3; value = UInt32(lead & 0x0F)
        case 0xED: count = 3; value = 0x0D; upper = 0x9F
        case 0xF0: count = 4; value = 0; lower = 0x90
        case 0xF1...0xF3: count = 4; value = UInt32(lead & 0x07)
        case 0xF4: count = 4; value = 4; upper = 0x8F
        default: return replacement
        }
        var offset = 1
        while offset < count {
            let position = index + offset
            guard position < end else { return (replacement.0, offset) }
            let byte = input[position]
            let (low, high) = offset == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= low, byte <= high else { return (replacement.0, offset) }
            value = value << 6 | UInt32(byte & 0x3F)
            offset += 1
        }
        return (Unicode.Scalar(value) ?? replacement.0, count)
    }
}
