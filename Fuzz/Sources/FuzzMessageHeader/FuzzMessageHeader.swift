import FuzzSupport
import NIOCore
import SluiceSMTP

// MessageHeader (the header block parser), HeaderEdit / applying, and the wire-form helpers.
//
// Input: byte 0 picks the parse limit; then the header bytes up to the first 0xFF; after it, edits
// separated by 0xFF, each an operation byte (add, replace, remove) then NAME 0xFE VALUE (or a glob).
// Names are mapped onto field-name characters (printable ASCII but ':'), as a rule's name would be.
//
// Properties:
// - `runsPast(limit:of:)` holds only for a block without an empty line in data longer than the limit;
// - applying no edits gives back the header block's bytes (an empty line that ended it as CRLF).
// - on a header with only CRLF line ends, the result of any edits has only CRLF line ends, and parses
//   again to the fields the edits describe: added fields appended with their value (CR/LF made spaces),
//   replaced values, and no field a remove matched unless a later add put it back.
// - glob matching agrees with a plain reference matcher (`*` any run, `?` one character).
// - unstuffedBody(wireForm(ofFile: f)) is f with LF-only line ends made CRLF (and a CRLF at the end),
//   and a wire form plus ".\r\n" decodes (DataDecoder, reject) to itself, ending exactly there.

let limits = [0, 1, 16, 64, 256, 4096, 256 * 1024]

struct Edit {
    var edit: HeaderEdit
    init?(_ piece: [UInt8]) {
        guard let op = piece.first else { return nil }
        let body = Array(piece.dropFirst())
        let parts = pieces(body, separator: 0xFE)
        let name = fieldName(parts[0])
        let value = String(decoding: parts.count > 1 ? Array(parts[1...].joined(separator: [0xFE])) : [], as: UTF8.self)
        switch op % 4 {
        case 0: edit = .add(name: name, value: value)
        case 1: edit = .replace(name: name, value: value)
        case 2: edit = .remove(glob: String(decoding: body, as: UTF8.self))
        default: edit = .removeAuthenticationResults(authservID: String(decoding: body, as: UTF8.self))
        }
    }
}

/// Bytes mapped onto printable ASCII other than ':' (what RFC 5322 allows in a field name).
func fieldName(_ bytes: [UInt8]) -> String {
    let mapped = bytes.prefix(40).map { byte -> UInt8 in
        let printable = 33 + byte % 94
        return printable == UInt8(ascii: ":") ? UInt8(ascii: "X") : printable
    }
    return mapped.isEmpty ? "X-Fuzz" : String(decoding: mapped, as: UTF8.self)
}

/// What a value looks like once written and parsed back: CR and LF became spaces, leading WSP trimmed.
func written(_ value: String) -> String {
    let clean = String(String.UnicodeScalarView(value.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    return String(clean.drop { $0 == " " || $0 == "\t" })
}

/// Reference glob (dynamic programming over prefixes): `*` any run of characters, `?` exactly one,
/// everything else itself.
func referenceGlob(_ pattern: [Character], _ name: [Character]) -> Bool {
    // matched[j]: the pattern so far matches the first j characters of the name.
    var matched = [Bool](repeating: false, count: name.count + 1)
    matched[0] = true
    for p in pattern {
        var next = [Bool](repeating: false, count: name.count + 1)
        if p == "*" {
            var any = false
            for j in 0...name.count {
                any = any || matched[j]
                next[j] = any
            }
        } else {
            for j in 0..<name.count where matched[j] && (p == "?" || p == name[j]) { next[j + 1] = true }
        }
        matched = next
    }
    return matched[name.count]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let limit = limits[Int(input.byte()) % limits.count]
    let rest = input.rest()
    let parts = pieces(rest, separator: 0xFF)
    let raw = parts[0]
    let edits = parts.dropFirst().compactMap(Edit.init).map(\.edit)

    // 1. Parsing and applying nothing gives the block back.
    let header = MessageHeader(wire: raw, limit: limit)
    check(header.length <= min(raw.count, limit), "header length \(header.length) beyond \(min(raw.count, limit)) for \(hex(raw))")
    // Running past the limit: only without an empty line, only with more octets than the limit, and
    // never when the whole of the data was within it.
    if header.runsPast(limit: limit, of: raw) {
        check(!header.endsWithEmptyLine && raw.count > limit, "runsPast with an empty line or within the limit: \(hex(raw))")
    }
    if raw.count <= limit { check(!header.runsPast(limit: limit, of: raw), "runsPast for data within the limit: \(hex(raw))") }
    var expected = Array(raw[..<header.length])
    if header.endsWithEmptyLine, expected.suffix(2) != [13, 10] { expected = expected.dropLast() + [13, 10] }
    let identity = header.applying([])
    check(identity == expected, "applying([]) gives \(hex(identity)) for the block \(hex(expected))")

    // 2. Edits on a header with CRLF line ends only.
    let clean = normalizingLineEnds(raw)
    let cleanHeader = MessageHeader(wire: clean)
    let result = cleanHeader.applying(edits)
    check(hasOnlyCRLFLineEnds(result), "edits \(edits) give a bare CR or LF: \(hex(result)) from \(hex(clean))")
    var model = cleanHeader.fields.map { (name: $0.name, value: $0.value) }
    for edit in edits {
        switch edit {
        case .add(let name, let value):
            model.append((name, written(value)))
        case .replace(let name, let value):
            for i in model.indices where model[i].name.lowercased() == name.lowercased() { model[i].value = written(value) }
        case .remove(let glob):
            model.removeAll { MessageHeader.glob(glob.lowercased(), matches: $0.name.lowercased()) }
        case .removeAuthenticationResults(let id):
            model.removeAll { $0.name.lowercased() == "authentication-results" && MessageHeader.authservID(of: $0.value) == id.lowercased() }
        }
    }
    let reparsed = MessageHeader(wire: result)
    check(reparsed.length == result.count, "the edited header \(hex(result)) parses only to \(reparsed.length) octets")
    check(reparsed.endsWithEmptyLine == cleanHeader.endsWithEmptyLine, "edits changed whether the header ends with an empty line")
    let fields = reparsed.fields.map { (name: $0.name, value: $0.value) }
    check(fields.count == model.count && zip(fields, model).allSatisfy { $0.name == $1.name && $0.value == $1.value }, """
        edits \(edits) on \(hex(clean)):
        result fields \(fields)
        expected      \(model)
        """)
    var lastRemove: Int?
    for (index, edit) in edits.enumerated() { if case .remove = edit { lastRemove = index } }
    if let lastRemove, case .remove(let glob) = edits[lastRemove] {
        let readded = edits[(lastRemove + 1)...].compactMap { edit -> String? in
            if case .add(let name, _) = edit { return name.lowercased() }
            return nil
        }
        for field in reparsed.fields where MessageHeader.glob(glob.lowercased(), matches: field.name.lowercased()) {
            check(readded.contains(field.name.lowercased()), "field \(field.name) survived remove(\(glob))")
        }
    }

    // 3. Glob against the reference, on every field name and a few from the input.
    for edit in edits {
        guard case .remove(let glob) = edit else { continue }
        for field in cleanHeader.fields.prefix(8) {
            let pattern = Array(glob.lowercased()), name = Array(field.name.lowercased())
            check(MessageHeader.glob(glob.lowercased(), matches: field.name.lowercased()) == referenceGlob(pattern, name),
                  "glob \(glob) on \(field.name): \(MessageHeader.glob(glob.lowercased(), matches: field.name.lowercased()))")
        }
    }

    // 4. wireForm(ofFile:) and unstuffedBody are inverse; a wire form is one whole message.
    let wire = MessageHeader.wireForm(ofFile: raw)
    var lf = normalizingLFOnly(raw)
    if lf.last != 10 { lf += [13, 10] }
    let unstuffed = MessageHeader.unstuffedBody(wire[...])
    check(unstuffed == lf, "unstuffedBody(wireForm(\(hex(raw)))) = \(hex(unstuffed)), expected \(hex(lf))")
    if !raw.isEmpty {
        let slice = wire[1...]
        check(MessageHeader.unstuffedBody(slice) == reference(unstuffing: Array(slice)), "unstuffedBody of a slice not starting at 0")
    }
    var decoder = DataDecoder(maxLineLength: 1 << 30, maxSize: 1 << 40, policy: .reject)
    var stream = ByteBuffer(bytes: wire + Array(".\r\n".utf8) + Array("QUIT\r\n".utf8))
    var output = ByteBuffer()
    let finished = decoder.decode(&stream, into: &output)
    if decoder.fault == nil {
        check(finished && output.bytes == wire && stream.readableBytes == 6,
              "wireForm(\(hex(raw))) = \(hex(wire)) plus '.\\r\\n' decodes to \(hex(output.bytes)), finished \(finished)")
    }
    return 0
}

/// Only LFs without a CR before them become CRLF (what wireForm does; a bare CR stays).
func normalizingLFOnly(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var previous: UInt8 = 0
    for byte in bytes {
        if byte == 10 && previous != 13 { out.append(13) }
        out.append(byte)
        previous = byte
    }
    return out
}

/// A "." at the start or right after an LF removed.
func reference(unstuffing bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var atLineStart = true
    for byte in bytes {
        if !(atLineStart && byte == UInt8(ascii: ".")) { out.append(byte) }
        atLineStart = byte == 10
    }
    return out
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzMessageHeader_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
