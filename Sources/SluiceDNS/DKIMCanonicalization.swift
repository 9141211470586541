/// One header field as it appears in the message: its name and the whole raw field, folding
/// included: `Name: value\r\n\tfolded\r\n`. DKIM's `simple` header canonicalisation hashes exactly
/// these octets, so they are kept as received.
public struct DKIMHeaderField: Sendable, Hashable {
    public var name: String
    public var raw: [UInt8]

    public init(name: String, raw: [UInt8]) {
        self.name = name
        self.raw = raw
    }

    /// A field from its raw octets, the name being what precedes the first colon (WSP trimmed); nil
    /// without a colon.
    public init?(raw: [UInt8]) {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var end = colon
        while end > 0 && (raw[end - 1] == 0x20 || raw[end - 1] == 0x09) { end -= 1 }
        self.init(name: String(decoding: raw[..<end], as: UTF8.self), raw: raw)
    }

    /// Splits a message's header section (up to the empty line, or all of `message`) into fields,
    /// and gives the offset where the body starts (after the empty line; `message.count` if none).
    /// A line starting with WSP continues the field before it; a line without a colon is skipped.
    public static func split(_ message: [UInt8]) -> (fields: [DKIMHeaderField], bodyOffset: Int) {
        var fields: [DKIMHeaderField] = []
        var current: [UInt8] = []
        var index = 0
        func flush() {
            if !current.isEmpty, let field = DKIMHeaderField(raw: current) { fields.append(field) }
            current = []
        }
        while index < message.count {
            var end = index
            while end < message.count && message[end] != 0x0A { end += 1 }
            let next = min(end + 1, message.count)
            let line = message[index..<next]
            if line.elementsEqual([0x0D, 0x0A]) || line.elementsEqual([0x0A]) {
                flush()
                return (fields, next)
            }
            if let first = line.first, first == 0x20 || first == 0x09 {
                current += line
            } else {
                flush()
                current = Array(line)
            }
            index = next
        }
        flush()
        return (fields, message.count)
    }
}

/// A DKIM canonicalisation algorithm (RFC 6376 §3.4), for the header or the body.
public enum DKIMCanonicalization: String, Sendable, Hashable, CaseIterable {
    case simple, relaxed

    /// The canonical form of one header field, CRLF-terminated (§3.4.1, §3.4.2). `relaxed`: the
    /// name in lower case; the value unfolded, each WSP run one SP, WSP deleted at its end and
    /// around the colon. `simple`: the field unchanged (a CRLF added if it had none).
    public func canonicalize(_ field: DKIMHeaderField) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(field.raw.count + 2)
        canonicalize(field.raw, into: &output)
        return output
    }

    func canonicalize(_ raw: [UInt8], into output: inout [UInt8]) {
        switch self {
        case .simple:
            output += raw
            if !raw.ends(with: [0x0D, 0x0A]) { output += [0x0D, 0x0A] }
        case .relaxed:
            let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
            var nameEnd = colon
            while nameEnd > 0 && Self.isWSP(raw[nameEnd - 1]) { nameEnd -= 1 }
            for octet in raw[..<nameEnd] { output.append(octet >= 0x41 && octet <= 0x5A ? octet | 0x20 : octet) }
            output.append(UInt8(ascii: ":"))
            var pendingSpace = false, started = false
            var index = colon + 1
            while index < raw.count {
                let octet = raw[index]
                if octet == 0x0D && index + 1 < raw.count && raw[index + 1] == 0x0A {
                    index += 2
                    continue
                }
                if Self.isWSP(octet) {
                    pendingSpace = started
                } else {
                    if pendingSpace { output.append(0x20) }
                    pendingSpace = false
                    started = true
                    output.append(octet)
                }
                index += 1
            }
            output += [0x0D, 0x0A]
        }
    }

    static func isWSP(_ octet: UInt8) -> Bool { octet == 0x20 || octet == 0x09 }
}

/// Picks the header fields an `h=` list names and builds the data a signature covers (RFC 6376
/// §5.4.2, §3.7): for a name listed several times, instances are taken from the bottom of the header
/// up; a listed name with no instance left contributes nothing (the null string, which is how
/// over-signing works); then the DKIM-Signature field itself, `b=`'s value deleted, canonicalised,
/// without its final CRLF.
enum DKIMHeaderSelection {
    /// The fields `names` select, in `names`' order. `excluding`: an index of `fields` never picked
    /// (the signature being verified, whose own field did not exist when it was made).
    static func select(_ names: [String], from fields: [DKIMHeaderField], excluding: Int? = nil) -> [DKIMHeaderField] {
        var remaining: [String: [Int]] = [:]
        for (index, field) in fields.enumerated() where index != excluding {
            remaining[field.name.lowercased(), default: []].append(index)
        }
        var selected: [DKIMHeaderField] = []
        for name in names {
            let key = name.lowercased()
            if let index = remaining[key]?.popLast() { selected.append(fields[index]) }
        }
        return selected
    }

    /// The octets a signature's hash covers.
    static func signedData(fields: [DKIMHeaderField], names: [String], excluding: Int?, signatureField: [UInt8],
                           canonicalization: DKIMCanonicalization) -> [UInt8] {
        var data: [UInt8] = []
        for field in select(names, from: fields, excluding: excluding) {
            canonicalization.canonicalize(field.raw, into: &data)
        }
        var own: [UInt8] = []
        canonicalization.canonicalize(signatureField, into: &own)
        if own.ends(with: [0x0D, 0x0A]) { own.removeLast(2) }
        return data + own
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix) }
}
