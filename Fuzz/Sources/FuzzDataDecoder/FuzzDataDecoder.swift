import FuzzSupport
import NIOCore
import SluiceSMTP

// DataDecoder on the bytes after DATA, with both bare-line-ending policies, cut into reads in several ways.
//
// Input: byte 0 picks maxLineLength, byte 1 maxSize, bytes 2-9 seed the random chunking; the rest is
// the stream (content, terminator, maybe pipelined commands).
//
// Properties (for each policy):
// - whatever the chunking: the same end (found or not, and where), size, fault (none or which), and,
//   without a fault, the same output.
// - without a fault, `size` is the output's length and at most maxSize.
// - reject, no fault: the output is the input before the terminator, octet for octet, and it has only
//   CRLF line ends (and no NUL when the decoder knows the `.nul` fault).
// - normalize: a fault is only .lineTooLong or .tooLarge; without one, the output has only CRLF line
//   ends (and no NUL when the decoder handles NUL).
// - a finished message's content, line by line without transparency dots, is what an independent
//   reading of the stream gives (`expectedContent`): nothing lost, added or moved by either policy.
// - re-stuffing: a decoded message followed by ".\r\n" decodes again (reject, no limits) to itself with
//   no fault and ends exactly at that terminator — what goes upstream can never end early (smuggling).
// - with no bare line ending normalized, normalize gives what reject gives.

struct Result: Equatable {
    var finished: Bool
    var consumed: Int
    var output: [UInt8]
    var fault: DataDecoder.Fault?
    var size: Int
    var normalized: Int
}

func decode(_ stream: [UInt8], maxLineLength: Int, maxSize: Int, policy: BareLineEndingPolicy,
            chunking: Chunking) -> Result {
    var decoder = DataDecoder(maxLineLength: maxLineLength, maxSize: maxSize, policy: policy)
    var input = ByteBuffer()
    var output = ByteBuffer()
    var fed = 0
    var finished = false
    for chunk in chunking.split(stream) {
        input.writeBytes(chunk)
        fed += chunk.count
        if decoder.decode(&input, into: &output) {
            finished = true
            break
        }
        check(input.readableBytes == 0, "the decoder left \(input.readableBytes) octets unread before the end (\(chunking))")
    }
    return Result(finished: finished, consumed: fed - input.readableBytes, output: output.bytes, fault: decoder.fault,
                  size: decoder.size, normalized: decoder.normalizedLineEndings)
}

/// Whether this DataDecoder refuses NUL (the `.nul` fault), found out at run time so the target builds
/// against the decoder with or without NUL handling.
let decoderHandlesNUL: Bool = {
    var decoder = DataDecoder(maxLineLength: 1000, maxSize: 1000, policy: .reject)
    var input = ByteBuffer(bytes: Array("a\u{0}b\r\n.\r\n".utf8))
    var output = ByteBuffer()
    _ = decoder.decode(&input, into: &output)
    return decoder.fault.map { String(describing: $0) == "nul" } ?? false
}()

let lineLengths = [1, 2, 3, 8, 76, 998, 8192, 1 << 30]
let sizes = [0, 1, 5, 16, 100, 1000, 25 << 20, 1 << 40]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let maxLineLength = lineLengths[Int(input.byte() % 8)]
    let maxSize = sizes[Int(input.byte() % 8)]
    let seed = input.integer(bytes: 8)
    let stream = input.rest()
    let context = "maxLineLength \(maxLineLength), maxSize \(maxSize), stream \(hex(stream, limit: 512))"

    var results: [BareLineEndingPolicy: Result] = [:]
    for policy in [BareLineEndingPolicy.reject, .normalize] {
        let whole = decode(stream, maxLineLength: maxLineLength, maxSize: maxSize, policy: policy, chunking: .whole)
        results[policy] = whole
        for chunking in Chunking.all(seed: seed).dropFirst() {
            var other = decode(stream, maxLineLength: maxLineLength, maxSize: maxSize, policy: policy, chunking: chunking)
            // With a fault the message is refused and its content is dropped: only the rest must agree.
            if whole.fault != nil { other.output = whole.output }
            check(other == whole, """
                \(policy): the result depends on the chunking (\(context)):
                whole: \(describe(whole))
                \(chunking): \(describe(other))
                """)
        }

        if let fault = whole.fault {
            if policy == .normalize {
                check(fault == .lineTooLong || fault == .tooLarge, "normalize: fault \(fault) (\(context))")
            }
            continue
        }
        check(whole.size == whole.output.count && whole.size <= maxSize,
              "\(policy): size \(whole.size), output \(whole.output.count) octets, maxSize \(maxSize) (\(context))")
        // Unfinished, the output may end with the CR of a CRLF whose LF has not arrived.
        let complete = !whole.finished && whole.output.last == 13 ? whole.output.dropLast() : whole.output[...]
        check(hasOnlyCRLFLineEnds(complete), "\(policy): output with a bare CR or LF: \(hex(whole.output)) (\(context))")
        if decoderHandlesNUL {
            check(!whole.output.contains(0), "\(policy): output with a NUL: \(hex(whole.output)) (\(context))")
        }
        if policy == .reject {
            if whole.finished {
                check(whole.consumed >= 3, "reject: finished after \(whole.consumed) octets (\(context))")
                let content = Array(stream[..<(whole.consumed - 3)])
                check(whole.output == content, "reject: output \(hex(whole.output)) is not the content \(hex(content)) (\(context))")
                check(Array(stream[(whole.consumed - 3)..<whole.consumed]) == Array(".\r\n".utf8)
                        && (content.isEmpty || content.suffix(2) == [13, 10]),
                      "reject: the end found is not CRLF.CRLF (\(context))")
            } else {
                check(whole.consumed == stream.count, "reject: unfinished but \(stream.count - whole.consumed) octets left (\(context))")
                let withheld = stream[whole.output.count...]
                check(Array(stream.prefix(whole.output.count)) == whole.output
                        && (withheld.isEmpty || Array(withheld) == [0x2E] || Array(withheld) == [0x2E, 13]),
                      "reject: unfinished output \(hex(whole.output)) is not the input less a withheld '.' or '.\\r' (\(context))")
            }
        }
        if whole.finished {
            // The content, line by line without transparency dots, is what the rule says it is.
            guard let expected = expectedContent(stream, removingNUL: decoderHandlesNUL) else {
                violated("\(policy): finished, but the stream has no end of data by the rule (\(context))")
            }
            check(expected.end == whole.consumed, "\(policy): ended after \(whole.consumed) octets, the rule says \(expected.end) (\(context))")
            let lines = contentLines(whole.output)
            check(lines == expected.lines, """
                \(policy): the content differs from the rule (\(context)):
                decoder: \(lines.map { hex($0, limit: 64) })
                rule:    \(expected.lines.map { hex($0, limit: 64) })
                """)
            // Re-stuffing: what would go upstream, followed by the terminator, ends exactly there.
            let resent = whole.output + Array(".\r\n".utf8) + Array("QUIT\r\n".utf8)
            let again = decode(resent, maxLineLength: 1 << 30, maxSize: 1 << 40, policy: .reject, chunking: .whole)
            check(again.finished && again.consumed == whole.output.count + 3 && again.fault == nil && again.output == whole.output,
                  "\(policy): the decoded message \(hex(whole.output)) re-sent with '.\\r\\n' decodes as \(describe(again)) (\(context))")
        }
    }

    if let normalized = results[.normalize], let rejected = results[.reject] {
        if rejected.fault == nil {
            check(normalized == rejected, "clean input, yet normalize \(describe(normalized)) differs from reject \(describe(rejected)) (\(context))")
        } else if rejected.fault == .bareLF || rejected.fault == .bareCR, normalized.fault == nil {
            check(normalized.normalized > 0,
                  "reject found \(String(describing: rejected.fault)) but normalize changed no line ending (\(context))")
        }
    }
    return 0
}

/// The message by the rule, independently of the decoder: lines end at CRLF, a bare LF or a bare CR;
/// a "." first on a line after CRLF (or at the start) is transparency and dropped, except a line that
/// is only "." before a bare line end (kept as content, so it can never be an end); NULs are removed
/// (when the decoder handles NUL); the first line after CRLF that is only "." and ends with CRLF ends
/// the data. Nil when the stream has no end of data.
func expectedContent(_ stream: [UInt8], removingNUL: Bool) -> (lines: [[UInt8]], end: Int)? {
    var lines: [[UInt8]] = []
    var start = 0
    var afterCRLF = true
    while true {
        var end = start
        while end < stream.count, stream[end] != 13, stream[end] != 10 { end += 1 }
        guard end < stream.count, !(stream[end] == 13 && end + 1 == stream.count) else { return nil }
        let crlf = stream[end] == 13 && stream[end + 1] == 10
        let next = crlf ? end + 2 : end + 1
        var line = Array(stream[start..<end])
        if afterCRLF, crlf, line == [0x2E] { return (lines, next) }
        if afterCRLF, line.first == 0x2E, line != [0x2E] { line.removeFirst() }
        if removingNUL { line.removeAll { $0 == 0 } }
        lines.append(line)
        afterCRLF = crlf
        start = next
    }
}

/// Wire-form content (CRLF line ends only) as lines, each without its transparency dot.
func contentLines(_ output: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var start = 0
    var index = 0
    while index + 1 < output.count {
        if output[index] == 13, output[index + 1] == 10 {
            var line = Array(output[start..<index])
            if line.first == 0x2E { line.removeFirst() }
            lines.append(line)
            index += 2
            start = index
        } else {
            index += 1
        }
    }
    return lines
}

func describe(_ result: Result) -> String {
    "finished \(result.finished) consumed \(result.consumed) fault \(String(describing: result.fault)) size \(result.size) "
        + "normalized \(result.normalized) output \(hex(result.output))"
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzDataDecoder_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
