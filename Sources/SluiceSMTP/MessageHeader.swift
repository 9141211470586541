#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import NIOCore

/// A header change, applied to the spooled message before it goes upstream.
public enum HeaderEdit: Hashable, Sendable {
    case add(name: String, value: String)
    /// Replaces the value of every field with this name (none: nothing happens).
    case replace(name: String, value: String)
    /// Removes every field whose name matches the glob (`X-Internal-*`), case-insensitively.
    case remove(glob: String)
    /// Removes the `Authentication-Results` fields that claim this authserv-id (RFC 8601 §5: a forged
    /// one would be believed downstream); others' are kept.
    case removeAuthenticationResults(authservID: String)
}

/// The header block of a message in wire form (dot-stuffed, CRLF), parsed into fields.
public struct MessageHeader: Hashable, Sendable {
    public struct Field: Hashable, Sendable {
        public var name: String
        /// The value unfolded (CRLF before white space removed), leading white space trimmed.
        public var value: String
        /// The field's lines exactly as received, CRLFs included (re-emitted when untouched).
        public var raw: [UInt8]
    }

    public var fields: [Field]
    /// Octets of the header block in the wire data, including the empty line that ends it (if any).
    public var length: Int
    /// Whether an empty line ended the block (a message may be all header, or start its body without one).
    public var endsWithEmptyLine = false

    /// Parses the header block at the start of `wire`. Stops at the first empty line, at a line that is
    /// not a header field (no colon), or at `limit` octets.
    public init(wire: [UInt8], limit: Int = 256 * 1024) {
        let bytes = wire.count > limit ? Array(wire[..<limit]) : wire
        var fields: [Field] = []
        var index = 0
        var length = 0
        while index < bytes.count {
            guard let lf = bytes[index...].firstIndex(of: 10) else { break }
            let lineEnd = lf + 1
            if lf - index <= 1 && (lf == index || bytes[index] == 13) { // empty line: end of header
                length = lineEnd
                endsWithEmptyLine = true
                break
            }
            let isContinuation = bytes[index] == 32 || bytes[index] == 9
            if isContinuation, !fields.isEmpty {
                fields[fields.count - 1].raw += bytes[index..<lineEnd]
                var text = Self.text(bytes[index..<lineEnd])
                if fields[fields.count - 1].value.isEmpty { text = String(text.drop { $0 == " " || $0 == "\t" }) }
                fields[fields.count - 1].value += text
                index = lineEnd
                length = lineEnd
                continue
            }
            var lineStart = index
            if bytes[index] == UInt8(ascii: ".") { lineStart += 1 } // dot-stuffing
            guard let colon = bytes[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":")), colon > lineStart,
                  bytes[lineStart..<colon].allSatisfy({ $0 > 32 && $0 < 127 })
            else { break } // not a header line: the body starts here
            let name = String(decoding: bytes[lineStart..<colon], as: UTF8.self)
            let value = String(Self.text(bytes[(colon + 1)..<lineEnd]).drop { $0 == " " || $0 == "\t" })
            fields.append(Field(name: name, value: value, raw: Array(bytes[index..<lineEnd])))
            index = lineEnd
            length = lineEnd
        }
        self.fields = fields
        self.length = length
    }

    /// Whether the header block runs past the `limit` octets it was parsed from (`wire` is the data
    /// given to `init(wire:limit:)`): no empty line, and no line that is not a header field, ended it
    /// within them, so where it ends is not known.
    public func runsPast<Wire: Collection<UInt8>>(limit: Int, of wire: Wire) -> Bool {
        guard !endsWithEmptyLine, wire.count > limit else { return false }
        return length >= limit || !wire.dropFirst(length).prefix(limit - length).contains(10)
    }

    /// A message file as it would travel in DATA: CRLF line ends, dot-stuffed, ending with CRLF
    /// (the inverse of `unstuffedBody`, for `sluice explain`).
    public static func wireForm(ofFile bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 10 && previous != 13 { out.append(13) }
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(byte)
            atLineStart = byte == 10
            previous = byte
        }
        if previous != 10 { out += [13, 10] }
        return out
    }

    /// The body's text with dot-stuffing removed (a line's leading "." dropped), for body rules.
    public static func unstuffedBody(_ wire: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var unstuffing = DotUnstuffing()
        wire.withUnsafeBytes { unstuffing.unstuff($0, into: &out) }
        return out
    }

    /// Line text without its CR LF.
    private static func text(_ line: ArraySlice<UInt8>) -> String {
        var line = line
        while let last = line.last, last == 10 || last == 13 { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// The header block after `edits`, in wire form, with the empty line that ended it (if it had one).
    /// Untouched fields keep their bytes; new values are written as one dot-stuffed line each.
    public func applying(_ edits: [HeaderEdit]) -> [UInt8] {
        var fields = self.fields
        for edit in edits {
            switch edit {
            case .add(let name, let value):
                fields.append(Field(name: name, value: value, raw: Self.line(name, value)))
            case .replace(let name, let value):
                for i in fields.indices where fields[i].name.lowercased() == name.lowercased() {
                    fields[i] = Field(name: fields[i].name, value: value, raw: Self.line(fields[i].name, value))
                }
            case .remove(let glob):
                fields.removeAll { Self.glob(glob.lowercased(), matches: $0.name.lowercased()) }
            case .removeAuthenticationResults(let id):
                fields.removeAll { $0.name.lowercased() == "authentication-results" && Self.authservID(of: $0.value) == id.lowercased() }
            }
        }
        var out = fields.flatMap(\.raw)
        if endsWithEmptyLine { out += [13, 10] }
        return out
    }

    /// The authserv-id of an `Authentication-Results` value: its first token (a quoted-string unquoted,
    /// as downstream readers take it), comments skipped, lower case.
    public static func authservID(of value: String) -> String {
        var id = ""
        var depth = 0
        var quoted = false, escaped = false
        for character in value {
            if quoted {
                if escaped { escaped = false; id.append(character); continue }
                if character == "\\" { escaped = true; continue }
                if character == "\"" { break }
                id.append(character)
                continue
            }
            if character == "\"", id.isEmpty, depth == 0 { quoted = true; continue }
            if character == "(" { depth += 1; continue }
            if character == ")" { depth = max(0, depth - 1); continue }
            if depth > 0 { continue }
            if character == ";" { break }
            if character == " " || character == "\t" || character == "\r" || character == "\n" {
                if id.isEmpty { continue } else { break }
            }
            id.append(character)
        }
        return id.lowercased()
    }

    static func line(_ name: String, _ value: String) -> [UInt8] {
        let clean = value.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : Character($0) }
        var bytes = Array("\(name): \(String(clean))\r\n".utf8)
        if bytes.first == UInt8(ascii: ".") { bytes.insert(UInt8(ascii: "."), at: 0) }
        return bytes
    }

    /// `*` matches any run of characters, `?` one character.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern), n = Array(name)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count, p[pi] == "?" || p[pi] == n[ni] {
                pi += 1; ni += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Removes SMTP dot-stuffing from a message in wire form fed in arbitrary chunks (a line that starts
/// with "." lost that first dot), for what reads the message as the author wrote it (DKIM's body hash).
public struct DotUnstuffing: Sendable {
    private var atLineStart = true

    /// `atLineStart`: whether the first octet fed starts a line (the body after the header's empty line).
    public init(atLineStart: Bool = true) {
        self.atLineStart = atLineStart
    }

    /// Appends `chunk` without its stuffing dots to `output`: the runs between stuffed dots copied in
    /// bulk, line ends found with memchr (a stuffed dot is a "." right after LF, or at a line start).
    public mutating func unstuff(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
        let count = chunk.count, dot = UInt8(ascii: ".")
        output.reserveCapacity(output.count + count)
        var start = atLineStart && base[0] == dot ? 1 : 0
        var index = 0
        while index < count, let found = memchr(base + index, 10, count - index) {
            let next = base.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
            if next < count, base[next] == dot {
                output.append(contentsOf: UnsafeBufferPointer(start: base + start, count: next - start))
                start = next + 1
            }
            index = next
        }
        if start < count { output.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start)) }
        atLineStart = base[count - 1] == 10
    }
}
