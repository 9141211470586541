/// The output side of the HTML-to-text conversion: UTF-8 text with white space collapsed as a
/// browser renders it, invisible characters dropped, and a hard limit on the octets written.
///
/// Separators are kept pending and written only before the next visible character, so leading and
/// trailing white space never appear, and a run of separators becomes the strongest of them
/// (line break over tab over space).
struct HTMLTextWriter {
    /// What a run of white space or an element boundary leaves between two pieces of text.
    enum Separator: Int, Comparable {
        case none, space, tab, lineBreak

        static func < (lhs: Separator, rhs: Separator) -> Bool { lhs.rawValue < rhs.rawValue }

        var byte: UInt8 {
            switch self {
            case .none, .space: UInt8(ascii: " ")
            case .tab: UInt8(ascii: "\t")
            case .lineBreak: UInt8(ascii: "\n")
            }
        }
    }

    private(set) var bytes: [UInt8] = []
    private let limit: Int
    private var pending = Separator.none
    /// Set once something did not fit: everything after it is dropped too.
    private(set) var isFull = false
    /// Inside `pre` (or `listing`): white space is written as it is.
    var preservesWhitespace = false
    /// Inside `template`: nothing is written.
    var isSuppressed = false
    /// Right after a `pre` start tag: browsers drop a line feed there.
    var dropsNextLineFeed = false

    init(limit: Int, expectedSize: Int) {
        self.limit = max(0, limit)
        bytes.reserveCapacity(min(self.limit, max(0, expectedSize)))
    }

    /// The text written so far.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// An element boundary: a line break (blocks) or a tab (table cells).
    mutating func separate(_ separator: Separator) {
        guard !isSuppressed else { return }
        dropsNextLineFeed = false
        pending = max(pending, separator)
    }

    /// Text from the document itself, which may be any bytes: malformed UTF-8 becomes U+FFFD.
    mutating func appendText(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
        guard !isSuppressed else { return }
        var index = start
        while index < end, !isFull {
            let byte = input[index]
            if byte > 0x20, byte < 0x80 {
                var runEnd = index + 1
                while runEnd < end, input[runEnd] > 0x20, input[runEnd] < 0x80 { runEnd += 1 }
                appendVisibleASCII(input, from: index, to: runEnd)
                index = runEnd
            } else if byte < 0x80 {
                appendASCII(byte)
                index += 1
            } else {
                let (scalar, length) = UTF8Decoding.scalar(in: input, at: index, end: end)
                append(scalar)
                index += length
            }
        }
    }

    /// One decoded character (from the document or a character reference).
    mutating func append(_ scalar: Unicode.Scalar) {
        guard !isSuppressed else { return }
        let value = scalar.value
        if value < 0x80 { return appendASCII(UInt8(value)) }
        if value == 0xA0 { return appendWhitespace(UInt8(ascii: " ")) }  // no-break space
        if Self.isInvisible(value) { return }
        dropsNextLineFeed = false
        var encoded: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let count: Int
        if value < 0x800 {
            encoded = (UInt8(0xC0 | value >> 6), UInt8(0x80 | value & 0x3F), 0, 0)
            count = 2
        } else if value < 0x10000 {
            encoded = (UInt8(0xE0 | value >> 12), UInt8(0x80 | value >> 6 & 0x3F), UInt8(0x80 | value & 0x3F), 0)
            count = 3
        } else {
            encoded = (UInt8(0xF0 | value >> 18), UInt8(0x80 | value >> 12 & 0x3F),
                       UInt8(0x80 | value >> 6 & 0x3F), UInt8(0x80 | value & 0x3F))
            count = 4
        }
        guard reserve(count) else { return }
        bytes.append(encoded.0)
        bytes.append(encoded.1)
        if count > 2 { bytes.append(encoded.2) }
        if count > 3 { bytes.append(encoded.3) }
    }

    /// Soft hyphen, zero-width space/non-joiner/joiner, word joiner, the invisible mathematical
    /// operators, and the byte order mark (zero-width no-break space): spammers split words with them.
    static func isInvisible(_ value: UInt32) -> Bool {
        value == 0xAD || (0x200B...0x200D).contains(value) || (0x2060...0x2064).contains(value) || value == 0xFEFF
    }

    /// A run of printable ASCII, written at once when it fits (else byte by byte up to the limit).
    private mutating func appendVisibleASCII(_ input: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
        guard reserve(end - start, marksFull: false) else {
            for index in start..<end { appendASCII(input[index]) }
            return
        }
        dropsNextLineFeed = false
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<end]))
    }

    private mutating func appendASCII(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0C:
            appendWhitespace(byte)
        case 0:
            break  // the tree builder drops NUL in text
        default:
            dropsNextLineFeed = false
            guard reserve(1) else { return }
            bytes.append(byte)
        }
    }

    private mutating func appendWhitespace(_ byte: UInt8) {
        guard preservesWhitespace else {
            pending = max(pending, .space)
            return
        }
        let isCarriageReturn = byte == UInt8(ascii: "\r")
        // A CR LF pair is one line break.
        if byte == UInt8(ascii: "\n"), lastWasCarriageReturn {
            lastWasCarriageReturn = false
            return
        }
        let written: UInt8 = isCarriageReturn || byte == 0x0C ? UInt8(ascii: "\n") : byte
        if written == UInt8(ascii: "\n"), dropsNextLineFeed {
            dropsNextLineFeed = false
            lastWasCarriageReturn = isCarriageReturn
            return
        }
        dropsNextLineFeed = false
        guard reserve(1) else { return }
        bytes.append(written)
        lastWasCarriageReturn = isCarriageReturn
    }

    private var lastWasCarriageReturn = false

    /// Writes the pending separator, if any, and answers whether `count` more octets fit.
    private mutating func reserve(_ count: Int, marksFull: Bool = true) -> Bool {
        lastWasCarriageReturn = false
        var separator: UInt8?
        if pending != .none, let last = bytes.last {
            let lastIsSpace = last == UInt8(ascii: " ") || last == UInt8(ascii: "\t")
            if last == UInt8(ascii: "\n") || (lastIsSpace && pending <= .tab) {
                separator = nil
            } else {
                separator = pending.byte
            }
        }
        let needed = count + (separator == nil ? 0 : 1)
        guard !isFull, bytes.count + needed <= limit else {
            if marksFull { isFull = true }
            return false
        }
        pending = .none
        if let separator { bytes.append(separator) }
        return true
    }
}
