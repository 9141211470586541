import FuzzSupport
import NIOCore
import SluiceSMTP

// CommandLineFramer on a client's byte stream, cut into reads in several ways.
//
// Input: byte 0 picks maxLength, bytes 1-8 seed the random chunking; the rest is the stream.
//
// Properties:
// - the same events whatever the chunking (whole, byte by byte, random reads).
// - the events are those of the rule, line by line (every LF ends a line):
//   longer than maxLength (CRLF counted, a bare LF counted as if it were CRLF) -> .tooLong;
//   no CR before the LF -> .bareLF; a CR inside -> .bareCR; a NUL inside -> .nul; else .line.
// - a .line never contains CR, LF or NUL and is at most maxLength - 2 octets.
// - the framer never holds more than maxLength octets of an unfinished line.

func frame(_ stream: [UInt8], maxLength: Int, chunking: Chunking) -> [CommandLineFramer.Event] {
    var framer = CommandLineFramer(maxLength: maxLength)
    var buffer = ByteBuffer()
    var events: [CommandLineFramer.Event] = []
    for chunk in chunking.split(stream) {
        buffer.writeBytes(chunk)
        while let event = framer.next(from: &buffer) { events.append(event) }
        check(buffer.readableBytes <= max(maxLength, 1),
              "the framer holds \(buffer.readableBytes) octets with maxLength \(maxLength) (\(chunking))")
    }
    return events
}

/// The rule, applied to each LF-terminated line of the whole stream.
func expectedEvents(_ stream: [UInt8], maxLength: Int) -> [CommandLineFramer.Event] {
    var events: [CommandLineFramer.Event] = []
    var start = 0
    while let lf = stream[start...].firstIndex(of: 10) {
        let line = stream[start..<lf]
        start = lf + 1
        let hasCR = line.last == 13
        if line.count + (hasCR ? 1 : 2) > maxLength {
            events.append(.fault(.tooLong))
        } else if !hasCR {
            events.append(.fault(.bareLF))
        } else if line.dropLast().contains(13) {
            events.append(.fault(.bareCR))
        } else if line.contains(0) {
            events.append(.fault(.nul))
        } else {
            events.append(.line(ByteBuffer(bytes: line.dropLast())))
        }
    }
    return events
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let choice = input.byte()
    let seed = input.integer(bytes: 8)
    let stream = input.rest()
    let maxLength = choice >= 0xC0 ? 512 : Int(choice % 64) + 1

    let whole = frame(stream, maxLength: maxLength, chunking: .whole)
    for event in whole {
        if case .line(let line) = event {
            let bytes = line.bytes
            check(!bytes.contains(13) && !bytes.contains(10) && !bytes.contains(0), "a line with CR, LF or NUL: \(hex(bytes))")
            check(bytes.count + 2 <= maxLength, "a line of \(bytes.count) octets with maxLength \(maxLength)")
        }
    }
    let expected = expectedEvents(stream, maxLength: maxLength)
    check(whole == expected, """
        events of the whole stream differ from the rule (maxLength \(maxLength)) for \(hex(stream)):
        framer: \(whole)
        rule:   \(expected)
        """)
    for chunking in Chunking.all(seed: seed).dropFirst() {
        let events = frame(stream, maxLength: maxLength, chunking: chunking)
        check(events == whole, """
            events depend on the chunking (maxLength \(maxLength)) for \(hex(stream)):
            whole: \(whole)
            \(chunking): \(events)
            """)
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzLineFramer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
