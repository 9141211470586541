/// The body of the leaf part being received: transfer decoding, size counting and the bounded
/// retained prefix (UTF-8 text for text parts, decoded octets otherwise).
struct LeafBody {
    private enum Kind { case identity, base64, quotedPrintable }
    private let kind: Kind
    private var base64 = Base64Decoder()
    private var qp = QuotedPrintableDecoder()
    private let converter: CharsetConverter?
    /// Retained octets (UTF-8 for text).
    private(set) var kept: [UInt8] = []
    private let keepLimit: Int
    private(set) var truncated = false
    /// Octets after transfer decoding.
    private(set) var decodedSize = 0

    /// Input is decoded in slices of this size so that the scratch buffer suffices.
    static let slice = 32 << 10
    static let scratchCapacity = QuotedPrintableDecoder.maxOutput(slice) + 16

    /// `charset` is used for text parts (`isText`); `keepLimit` bounds what is retained.
    init(encoding: TransferEncoding, isText: Bool, charset: String?, keepLimit: Int) {
        switch encoding {
        case .base64: kind = .base64
        case .quotedPrintable: kind = .quotedPrintable
        default: kind = .identity
        }
        converter = isText ? CharsetConverter(charset: charset) : nil
        self.keepLimit = max(0, keepLimit)
    }

    var charsetUnknown: Bool { converter?.unknown ?? false }
    /// Whether the body is kept as text.
    var isText: Bool { converter != nil }

    /// Takes body octets (line ends included, except the one before a boundary).
    mutating func write(_ input: UnsafeRawBufferPointer, scratch: UnsafeMutablePointer<UInt8>) {
        guard kind != .identity else { take(input); return }
        var offset = 0
        while offset < input.count {
            let count = min(Self.slice, input.count - offset)
            let piece = UnsafeRawBufferPointer(rebasing: input[offset..<(offset + count)])
            let produced = kind == .base64 ? base64.decode(piece, into: scratch) : qp.decode(piece, into: scratch)
            take(UnsafeRawBufferPointer(start: scratch, count: produced))
            offset += count
        }
    }

    /// Ends the body; returns notes on what was repaired.
    mutating func finish(scratch: UnsafeMutablePointer<UInt8>) -> [String] {
        var notes: [String] = []
        switch kind {
        case .identity: break
        case .base64:
            take(UnsafeRawBufferPointer(start: scratch, count: base64.finish(into: scratch)))
            if base64.invalidCharacters > 0 { notes.append("\(base64.invalidCharacters) invalid base64 characters skipped") }
            if base64.missingPadding { notes.append("base64 padding missing") }
            if base64.danglingCharacter { notes.append("base64 ends with a lone character (dropped)") }
            if base64.dataAfterPadding { notes.append("base64 data after padding decoded") }
        case .quotedPrintable:
            take(UnsafeRawBufferPointer(start: scratch, count: qp.finish(into: scratch)))
            if qp.invalidEscapes > 0 { notes.append("\(qp.invalidEscapes) invalid quoted-printable escapes kept literally") }
        }
        if let converter, !truncated {
            converter.finish(into: &kept)
            clampText()
        }
        if let converter, converter.replacements > 0 {
            // Past the limit conversion stops where the chunk that crossed it ended, which depends on
            // how the message arrived: the count is given only for text converted in full.
            notes.append(truncated ? "invalid character sequences replaced by U+FFFD"
                                   : "\(converter.replacements) invalid character sequences replaced by U+FFFD")
        }
        return notes
    }

    private mutating func take(_ decoded: UnsafeRawBufferPointer) {
        decodedSize += decoded.count
        guard !truncated, decoded.count > 0 else { return }
        if let converter {
            converter.convert(decoded, into: &kept)
            clampText()
        } else {
            let room = keepLimit - kept.count
            if decoded.count > room {
                kept.append(contentsOf: decoded.prefix(room))
                truncated = true
            } else {
                kept.append(contentsOf: decoded)
            }
        }
    }

    /// Cuts UTF-8 text to the limit on a character boundary.
    private mutating func clampText() {
        guard kept.count > keepLimit else { return }
        var cut = keepLimit
        while cut > 0 && kept[cut] & 0xC0 == 0x80 { cut -= 1 }
        kept.removeSubrange(cut...)
        truncated = true
    }
}
