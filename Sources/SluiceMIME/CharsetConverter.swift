import Glibc

/// Streaming conversion of text octets to UTF-8. Incomplete multibyte sequences at the end of a
/// chunk are carried to the next; invalid ones become U+FFFD and are skipped. Owns an iconv
/// descriptor when one is needed (hence a class; it is never shared between parts).
final class CharsetConverter {
    private var choice: CharsetChoice
    private var cd: iconv_t?
    /// Octets of an incomplete sequence carried to the next call.
    private var carry: [UInt8] = []
    /// The label was not recognised; reading ISO-8859-1.
    let unknown: Bool
    /// Invalid sequences replaced by U+FFFD.
    private(set) var replacements = 0
    private static let maxCarry = 16
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// A converter for `charset` (nil: unlabelled text, UTF-8 where valid else ISO-8859-1).
    init(charset: String?) {
        if let charset {
            if let resolved = CharsetRegistry.resolve(charset) { choice = resolved; unknown = false }
            else { choice = .latin1; unknown = true }
        } else {
            choice = .utf8OrLatin1
            unknown = false
        }
        if case .iconv(let name, _) = choice, !open(name) { choice = .latin1 }
    }

    deinit { if let cd { iconv_close(cd) } }

    private func open(_ name: String) -> Bool {
        let descriptor = iconv_open("UTF-8", name)
        if Int(bitPattern: descriptor) == -1 { return false }
        cd = descriptor
        return true
    }

    /// Converts `input`, appending UTF-8 to `out`.
    func convert(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        guard input.count > 0 else { return }
        if carry.isEmpty {
            run(input, into: &out)
        } else {
            var joined = carry
            joined.append(contentsOf: input)
            carry.removeAll(keepingCapacity: true)
            joined.withUnsafeBytes { run($0, into: &out) }
        }
    }

    /// Ends the stream: a carried incomplete sequence becomes U+FFFD; shift states are flushed.
    func finish(into out: inout [UInt8]) {
        if case .unicodeUnmarked = choice, !carry.isEmpty {
            // Too short to sniff: decode what there is as big-endian.
            let rest = carry
            carry.removeAll()
            choice = .latin1
            if open(rest.count >= 4 ? "UTF-32BE" : "UTF-16BE") { choice = .iconv("", unit: rest.count >= 4 ? 4 : 2) }
            rest.withUnsafeBytes { run($0, into: &out) }
        }
        if !carry.isEmpty && choice == .utf8OrLatin1 {
            for b in carry { Bytes.appendLatin1(b, to: &out) }
            carry.removeAll()
        }
        if !carry.isEmpty {
            carry.removeAll()
            out.append(contentsOf: Self.replacement)
            replacements += 1
        }
        if let cd {
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
                var outPtr: UnsafeMutablePointer<CChar>? = buffer.baseAddress
                var outLeft = 64
                _ = iconv(cd, nil, nil, &outPtr, &outLeft)
                let produced = 64 - outLeft
                buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: produced) {
                    out.append(contentsOf: UnsafeBufferPointer(start: $0, count: produced))
                }
            }
        }
    }

    private func run(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        switch choice {
        case .latin1:
            out.reserveCapacity(out.count + input.count)
            for b in input { Bytes.appendLatin1(b, to: &out) }
        case .utf8, .utf8OrLatin1:
            runUTF8(input, into: &out, lenient: choice == .utf8OrLatin1)
        case .iconv(_, let unit):
            runIconv(input, unit: unit, into: &out)
        case .unicodeUnmarked(let unit):
            sniff(input, unit: unit, into: &out)
        }
    }

    private func runUTF8(_ input: UnsafeRawBufferPointer, into out: inout [UInt8], lenient: Bool) {
        let bytes = input.bindMemory(to: UInt8.self)
        let slice = ArraySlice(bytes)
        var i = slice.startIndex
        out.reserveCapacity(out.count + slice.count)
        while i < slice.endIndex {
            let b = slice[i]
            if b < 0x80 { out.append(b); i += 1; continue }
            let (length, valid) = UTF8Validation.scan(slice, at: i)
            if valid {
                out.append(contentsOf: slice[i..<(i + length)]); i += length
            } else if length < 0 {
                carry.append(contentsOf: slice[i...]); return
            } else if lenient {
                Bytes.appendLatin1(b, to: &out); i += 1
            } else {
                out.append(contentsOf: Self.replacement); replacements += 1; i += length
            }
        }
    }

    /// UTF-16/32 without a byte order in the label: a BOM decides (iconv consumes it), else a
    /// first unit looking like little-endian ASCII, else big-endian (RFC 2781).
    private func sniff(_ input: UnsafeRawBufferPointer, unit: Int, into out: inout [UInt8]) {
        guard input.count >= unit else { carry.append(contentsOf: input); return }
        let b = Array(input.prefix(unit))
        let name: String
        if unit == 2 {
            if (b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) { name = "UTF-16" }
            else { name = (b[0] != 0 && b[1] == 0) ? "UTF-16LE" : "UTF-16BE" }
        } else {
            if b == [0xFF, 0xFE, 0, 0] || b == [0, 0, 0xFE, 0xFF] { name = "UTF-32" }
            else { name = (b[0] != 0 && b[3] == 0) ? "UTF-32LE" : "UTF-32BE" }
        }
        choice = open(name) ? .iconv(name, unit: unit) : .latin1
        run(input, into: &out)
    }

    private func runIconv(_ input: UnsafeRawBufferPointer, unit: Int, into out: inout [UInt8]) {
        guard let cd, let base = input.baseAddress else { return }
        let capacity = 16 << 10
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
            var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
            var inLeft = input.count
            while inLeft > 0 {
                var outPtr: UnsafeMutablePointer<CChar>? = buffer.baseAddress
                var outLeft = capacity
                let result = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                let failure = result == -1 ? errno : 0
                let produced = capacity - outLeft
                buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: produced) {
                    out.append(contentsOf: UnsafeBufferPointer(start: $0, count: produced))
                }
                if result != -1 || failure == E2BIG { continue }
                if failure == EINVAL && inLeft < Self.maxCarry {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: inPtr, count: inLeft))
                    return
                }
                // EILSEQ (or anything unexpected): replace one code unit and resynchronise.
                out.append(contentsOf: Self.replacement)
                replacements += 1
                let skip = min(unit, inLeft)
                inPtr = inPtr.map { $0 + skip }
                inLeft -= skip
            }
        }
    }

    /// Converts a whole buffer at once (encoded-words, parameters). Returns the text and whether
    /// the charset was known.
    static func convert(_ bytes: [UInt8], charset: String?) -> (text: String, known: Bool) {
        let converter = CharsetConverter(charset: charset)
        var out: [UInt8] = []
        bytes.withUnsafeBytes { converter.convert($0, into: &out) }
        converter.finish(into: &out)
        return (String(decoding: out, as: UTF8.self), !converter.unknown)
    }
}
