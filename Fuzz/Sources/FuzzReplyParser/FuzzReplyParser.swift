import FuzzSupport
import NIOCore
import SluiceSMTP

// ReplyParser on the bytes an upstream might send, with small or default bounds.
//
// Input: byte 0 picks maxLineLength, byte 1 maxLines, bytes 2-9 seed the chunking; the rest is the stream.
//
// Properties:
// - the same replies, then the same error (if any), whatever the chunking (whole, byte by byte, random).
// - a reply has at most maxLines lines, each no longer than the line bound allows, and a code in 200...599.
// - a reply written back (`write(into:)`) parses again to the same reply, using up exactly its bytes.

enum Outcome: Equatable {
    case reply(SMTPReply)
    case error(ReplyParser.Error)
}

func parse(_ stream: [UInt8], maxLineLength: Int, maxLines: Int, chunking: Chunking) -> [Outcome] {
    var parser = ReplyParser(maxLineLength: maxLineLength, maxLines: maxLines)
    var buffer = ByteBuffer()
    var outcomes: [Outcome] = []
    for chunk in chunking.split(stream) {
        buffer.writeBytes(chunk)
        do {
            while let reply = try parser.next(from: &buffer) { outcomes.append(.reply(reply)) }
        } catch {
            outcomes.append(.error(error))
            return outcomes
        }
    }
    return outcomes
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let lengthChoice = input.byte()
    let linesChoice = input.byte()
    let seed = input.integer(bytes: 8)
    let stream = input.rest()
    let maxLineLength = lengthChoice >= 0x80 ? 4096 : Int(lengthChoice)        // 0...127 exercises the bound
    let maxLines = linesChoice >= 0x80 ? 200 : Int(linesChoice % 16) + 1

    let chunkings = Chunking.all(seed: seed)
    let reference = parse(stream, maxLineLength: maxLineLength, maxLines: maxLines, chunking: .whole)
    for chunking in chunkings.dropFirst() {
        let outcomes = parse(stream, maxLineLength: maxLineLength, maxLines: maxLines, chunking: chunking)
        check(outcomes == reference, """
            replies depend on the chunking (maxLineLength \(maxLineLength), maxLines \(maxLines)) for \(hex(stream)):
            whole: \(reference)
            \(chunking): \(outcomes)
            """)
    }

    for case .reply(let reply) in reference {
        check((200...599).contains(reply.code), "code \(reply.code) out of range")
        check(!reply.lines.isEmpty && reply.lines.count <= maxLines,
              "\(reply.lines.count) lines with maxLines \(maxLines): \(reply)")
        for line in reply.lines {
            // The text is the wire line after "250-": at most maxLineLength - 4 octets, and decoding
            // (invalid UTF-8 becomes U+FFFD) never makes more scalars than octets.
            check(line.unicodeScalars.count <= max(0, maxLineLength - 4),
                  "a line of \(line.unicodeScalars.count) scalars with maxLineLength \(maxLineLength)")
            check(!line.utf8.contains(10), "a reply line contains LF: \(hex(line.utf8))")
        }

        var wire = ByteBuffer()
        reply.write(into: &wire)
        let written = wire.bytes
        var again = ReplyParser(maxLineLength: 3 * maxLineLength + 16, maxLines: maxLines)
        do {
            let reparsed = try again.next(from: &wire)
            check(reparsed == reply, "\(reply) written as \(hex(written)) parses as \(String(describing: reparsed))")
            check(wire.readableBytes == 0, "\(reply) written as \(hex(written)) leaves \(wire.readableBytes) bytes")
        } catch {
            violated("\(reply) written as \(hex(written)) does not parse: \(error)")
        }
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzReplyParser_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
