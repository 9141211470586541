import FuzzSupport
import NIOCore
import SluiceSMTP

// EHLOCapabilities: filter, upstreamSize, authMechanisms on an upstream's EHLO reply.
//
// Input: byte 0 picks the offers (STARTTLS, AUTH) and the hostname, bytes 1-4 the message size; the
// rest is the upstream's reply, one line per LF-separated piece (the text after "250-"/"250 ", so it
// may hold anything ReplyParser lets through: anything but a CR or a NUL, which it refuses).
//
// Properties:
// - the filtered reply keeps the code, names the hostname first (then the upstream's greeting text
//   from its first space), then PIPELINING, then "SIZE <messageSize>" and nothing else says SIZE.
// - STARTTLS appears exactly when offered; AUTH only when offered, and then as the upstream's AUTH line.
// - every other line is one of the relayed extensions, as the upstream wrote it.
// - the reply written out is a valid multi-line reply: it parses back to itself, every line but the
//   last says "250-", and (from an upstream reply without them) no line holds a CR, LF or NUL.
// - upstreamSize is nil without a SIZE line and otherwise the first SIZE line's number (0 when none).
// - authMechanisms is the first AUTH line after the greeting.

let hostnames = ["mx1.example.com", "sluice", "[192.0.2.1]", "xn--bcher-kva.example"]
let relayed = ["8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"]

/// The line's first word in ASCII upper case (the keyword an EHLO line starts with).
func keyword(_ line: String) -> String {
    String(decoding: asciiUppercased(line.utf8.prefix { $0 != UInt8(ascii: " ") }), as: UTF8.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let choice = input.byte()
    let messageSize = Int(input.integer(bytes: 4))
    let offerSTARTTLS = choice & 1 != 0
    let offerAuth = choice & 2 != 0
    let hostname = hostnames[Int(choice >> 2) % hostnames.count]
    let code = choice & 0x80 != 0 ? 250 : [250, 251, 220, 550][Int(choice >> 4) % 4]
    let lines = pieces(input.rest(), separator: 10).map { String(decoding: $0.filter { $0 != 0 && $0 != 13 }, as: UTF8.self) }
    let reply = SMTPReply(code: code, lines: lines)
    let upstream = reply.lines.dropFirst()

    // upstreamSize and authMechanisms.
    let sizeLine = upstream.first { keyword($0) == "SIZE" }
    let size = EHLOCapabilities.upstreamSize(in: reply)
    if let sizeLine {
        let words = sizeLine.split(separator: " ")
        let expected = words.count > 1 ? Int(words[1]) ?? 0 : 0
        check(size == expected, "upstreamSize \(String(describing: size)) for the line \(hex(sizeLine.utf8))")
    } else {
        check(size == nil, "upstreamSize \(String(describing: size)) without a SIZE line in \(reply.lines)")
    }
    let authLine = upstream.first { keyword($0) == "AUTH" }
    check(EHLOCapabilities.authMechanisms(in: reply) == authLine, "authMechanisms \(String(describing: EHLOCapabilities.authMechanisms(in: reply)))")

    // filter.
    let filtered = EHLOCapabilities.filter(reply, hostname: hostname, messageSize: messageSize,
                                           offerSTARTTLS: offerSTARTTLS, offerAuth: offerAuth)
    let context = "upstream lines \(reply.lines.map { hex($0.utf8, limit: 64) }), STARTTLS \(offerSTARTTLS), AUTH \(offerAuth)"
    check(filtered.code == reply.code, "code \(filtered.code) for \(reply.code)")
    let out = filtered.lines
    check(out.count >= 3, "\(out.count) lines")
    let greeting = reply.lines[0]
    let expectedFirst = greeting.firstIndex(of: " ").map { hostname + greeting[$0...] } ?? hostname
    check(out[0] == expectedFirst, "first line \(out[0]) for greeting \(greeting) (\(context))")
    check(out[1] == "PIPELINING" && out[2] == "SIZE \(messageSize)", "lines 2-3 are \(out[1]), \(out[2]) (\(context))")
    let capabilities = out.dropFirst()
    check(capabilities.filter { keyword($0) == "SIZE" }.count == 1, "SIZE advertised twice (\(context)): \(out)")
    check(capabilities.filter { keyword($0) == "PIPELINING" }.count == 1, "PIPELINING advertised twice (\(context)): \(out)")
    check(capabilities.filter { keyword($0) == "STARTTLS" }.count == (offerSTARTTLS ? 1 : 0),
          "STARTTLS \(offerSTARTTLS ? "not advertised once" : "advertised") (\(context)): \(out)")
    let auth = capabilities.filter { keyword($0) == "AUTH" }
    if offerAuth, let authLine {
        check(auth == [authLine], "AUTH lines \(auth) for \(authLine) (\(context))")
    } else {
        check(auth.isEmpty, "AUTH advertised though not offered or not offered upstream (\(context)): \(out)")
    }
    let known = Set(["PIPELINING", "SIZE", "STARTTLS", "AUTH"])
    for line in capabilities where !known.contains(keyword(line)) {
        check(relayed.contains(keyword(line)) && upstream.contains(line), "line \(hex(line.utf8)) relayed (\(context))")
    }
    // No line holds a CR, LF or NUL (the upstream's cannot: ReplyParser refuses them; the filter adds none).
    let controls: Set<UInt8> = [0, 10, 13]
    for line in out {
        check(!line.utf8.contains(where: controls.contains),
              "the filtered EHLO reply has a line with a CR, LF or NUL: \(hex(line.utf8)) (\(context))")
    }

    var wire = ByteBuffer()
    filtered.write(into: &wire)
    let text = wire.bytes
    var parser = ReplyParser(maxLineLength: 1 << 20, maxLines: 1 << 20)
    do {
        let parsed = try parser.next(from: &wire)
        check(parsed == filtered && wire.readableBytes == 0, "the filtered reply \(hex(text)) parses as \(String(describing: parsed))")
    } catch {
        violated("the filtered reply \(hex(text)) does not parse: \(error)")
    }
    let wireLines = pieces(text, separator: 10).dropLast()
    for (index, line) in wireLines.enumerated() {
        let prefix = Array("\(code)\(index == wireLines.count - 1 ? " " : "-")".utf8)
        check(line.starts(with: prefix) || (index == wireLines.count - 1 && line == Array("\(code)\r".utf8)),
              "line \(index) of the filtered reply is \(hex(line))")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzEHLOCapabilities_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
