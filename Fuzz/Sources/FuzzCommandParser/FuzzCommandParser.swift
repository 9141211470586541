import FuzzSupport
import NIOCore
import SluiceSMTP

// CommandParser.parse on one command line (CRLF removed, as the framer hands it over).
//
// Properties:
// - parse either throws its Error or returns a command; it never traps.
// - the wire form (`write(into:)`, `wireLine`, one definition) parses again, to the same command
//   (the source route of a path is dropped on the wire by design, so it is ignored in the comparison),
//   and is a fixed point: wire(parse(wire)) == wire.
// - a line without CR, LF or NUL gives a wire line without them (nothing can be smuggled upstream).
// - a known verb is the line's first word in ASCII, any case: no Unicode case mapping turns another
//   word into a verb ("HELOX" is not HELO, nor is "quıt" QUIT).
// - MAIL/RCPT are followed by exactly "FROM:"/"TO:" in ASCII, any case.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let line = FuzzInput(data, count).bytes
    let command: SMTPCommand
    do {
        command = try CommandParser.parse(line)
    } catch {
        check(!error.detail.isEmpty, "parse error without a detail for \(hex(line))")
        return 0
    }

    var buffer = ByteBuffer()
    command.write(into: &buffer)
    let wire = buffer.bytes
    check(wire == Array(command.wireLine.utf8), "write(into:) and wireLine disagree for \(command)")

    let clean = !line.contains(13) && !line.contains(10) && !line.contains(0)
    if clean {
        check(!wire.contains(13) && !wire.contains(10) && !wire.contains(0),
              "wire form of \(hex(line)) contains CR, LF or NUL: \(hex(wire))")
    }

    let reparsed: SMTPCommand
    do {
        reparsed = try CommandParser.parse(wire)
    } catch {
        violated("wire form \(hex(wire)) of \(command) (from \(hex(line))) does not parse: \(error.detail)")
    }
    check(withoutSourceRoute(reparsed) == withoutSourceRoute(command),
          "input \(hex(line)) parsed as \(command), its wire form \(hex(wire)) as \(reparsed)")
    var again = ByteBuffer()
    reparsed.write(into: &again)
    check(again.bytes == wire, "wire form is not a fixed point: \(hex(wire)) -> \(hex(again.bytes))")

    if case .unknown = command {} else {
        let verb = line.prefix { $0 != UInt8(ascii: " ") }
        check(verb.allSatisfy { $0 < 0x80 } && asciiUppercased(verb) == Array(command.verb.utf8),
              "the word \(hex(verb)) of \(hex(line)) was taken as the verb \(command.verb)")
        let rest = Array(line.dropFirst(verb.count + 1))
        switch command {
        case .mail:
            check(asciiUppercased(rest.prefix(5)) == Array("FROM:".utf8), "MAIL accepted without FROM: in \(hex(line))")
        case .rcpt:
            check(asciiUppercased(rest.prefix(3)) == Array("TO:".utf8), "RCPT accepted without TO: in \(hex(line))")
        default:
            break
        }
    }
    return 0
}

func withoutSourceRoute(_ command: SMTPCommand) -> SMTPCommand {
    func strip(_ path: Path) -> Path { Path(sourceRoute: [], mailbox: path.mailbox) }
    switch command {
    case .mail(.path(let path), let parameters): return .mail(.path(strip(path)), parameters)
    case .rcpt(.path(let path), let parameters): return .rcpt(.path(strip(path)), parameters)
    default: return command
    }
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzCommandParser_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
