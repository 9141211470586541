/// One part's header block as received, bounded, and its parse into fields.
/// Line classification follows Python's `email.feedparser`: a line is a header line when it
/// starts with whitespace (continuation), with `From `, or with printable non-colon octets
/// followed by a colon; any other line ends the block and starts the body.
struct HeaderBlock {
    private(set) var bytes: [UInt8] = []
    private let limit: Int
    /// All header octets seen, including those past the limit.
    private(set) var size = 0
    /// Lines were dropped because the block outgrew its limit.
    private(set) var overflow = false

    init(limit: Int) { self.limit = max(0, limit) }

    /// Whether `line` (without its line end) continues the header block.
    static func isHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let first = line.first else { return false }
        if Bytes.isWSP(first) { return true }
        if line.count >= 5 && line[0] == 0x46 && line[1] == 0x72 && line[2] == 0x6F && line[3] == 0x6D && line[4] == 0x20 {
            return true  // "From "
        }
        for b in line {
            if b == 0x3A { return true }
            if b < 0x21 || b > 0x7E { return false }
        }
        return false
    }

    /// Appends one line (content and its line end, `eol` octets of CRLF/LF).
    mutating func append(_ line: UnsafeRawBufferPointer, eol: Int) {
        size += line.count + eol
        guard !overflow else { return }
        guard bytes.count + line.count + 2 <= limit else { overflow = true; return }
        bytes.append(contentsOf: line)
        bytes.append(Bytes.lf)
    }

    /// Counts the empty line that ends the block.
    mutating func end(eol: Int) { size += eol }

    /// The fields, in order. Continuation lines without a field and lines without a name are
    /// dropped (Python records them as defects); `From ` lines (mbox envelopes) are skipped.
    func fields() -> [MIMEField] {
        var fields: [MIMEField] = []
        var name: ArraySlice<UInt8>? = nil
        var raw: [UInt8] = []
        func flush() {
            if let name { fields.append(Self.field(name: name, raw: raw)) }
            name = nil
            raw.removeAll(keepingCapacity: true)
        }
        var start = 0
        while start < bytes.count {
            var end = start
            while bytes[end] != Bytes.lf { end += 1 }  // every stored line ends with LF
            let line = bytes[start..<end]
            start = end + 1
            guard let first = line.first else { continue }
            if Bytes.isWSP(first) {
                if name != nil { raw.append(Bytes.cr); raw.append(Bytes.lf); raw.append(contentsOf: line) }
                continue
            }
            flush()
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { continue }
            name = line[line.startIndex..<colon]
            raw.append(contentsOf: line[(colon + 1)...])
        }
        flush()
        return fields
    }

    private static func field(name: ArraySlice<UInt8>, raw: [UInt8]) -> MIMEField {
        let nameString = String(decoding: name, as: UTF8.self)
        return MIMEField(name: nameString, raw: raw, value: unfoldedValue(raw))
    }

    /// A field value unfolded, encoded-words decoded, trimmed.
    static func unfoldedValue(_ raw: [UInt8]) -> String {
        let unfolded = raw.filter { $0 != Bytes.cr && $0 != Bytes.lf }
        let text = Bytes.utf8OrLatin1(unfolded)
        return String(EncodedWords.decode(text).trimmingWhitespace())
    }

    /// The field value as a string, unfolded but not decoded (for structured parsing).
    static func unfoldedRaw(_ raw: [UInt8]) -> String {
        Bytes.utf8OrLatin1(raw.filter { $0 != Bytes.cr && $0 != Bytes.lf })
    }
}
