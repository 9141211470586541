import NIOCore

/// Receives the content of a DATA command and finds its end.
///
/// Only `CRLF.CRLF` ends the message: a `.` line after a bare LF or a bare CR is not an end (SMTP
/// smuggling). The content is passed on in wire form — dot-stuffed, exactly as the client sent it —
/// so the upstream receives the same lines. A bare CR or LF is a fault (`.reject`, the message is
/// refused at the final dot) or becomes CRLF (`.normalize`, with any `.` that then starts a line
/// stuffed so it can never end the message upstream). A NUL is a fault too (`.reject`) or is removed
/// (`.normalize`); a line that began with removed NULs has its `.` stuffed, so `CRLF NUL . CRLF` can
/// never become an end either. Once a fault means refusal, content is no longer written out, so a
/// refused message never costs memory or disk.
public struct DataDecoder: Sendable {
    public enum Fault: Hashable, Sendable {
        case bareLF
        case bareCR
        /// A NUL octet: some MTAs end a line or the message on it (SMTP smuggling).
        case nul
        case lineTooLong
        case tooLarge
    }

    public let maxLineLength: Int
    public let maxSize: Int
    public let policy: BareLineEndingPolicy
    /// The first fault that makes the message unacceptable, if any.
    public private(set) var fault: Fault?
    /// Octets of content received (wire form, terminator excluded), whether or not written out.
    public private(set) var size = 0
    /// Bare line endings turned into CRLF (normalize policy).
    public private(set) var normalizedLineEndings = 0

    private enum State: Sendable {
        case lineStart          // after CRLF (or at the start): a "." here may begin the terminator
        case lineStartNormalized // after a normalized break: a "." here is stuffed, never an end
        case inLine
        case cr
        case dot                 // withheld "." at line start
        case dotCR               // withheld ".\r"
    }
    private var state: State = .lineStart
    private var lineLength = 0

    public init(maxLineLength: Int, maxSize: Int, policy: BareLineEndingPolicy = .reject) {
        self.maxLineLength = maxLineLength
        self.maxSize = maxSize
        self.policy = policy
    }

    /// Consumes bytes from `input`, appends content to `output`, and returns true once the final
    /// `.CRLF` was consumed. Bytes after it (pipelined commands) stay in `input`.
    public mutating func decode(_ input: inout ByteBuffer, into output: inout ByteBuffer) -> Bool {
        var finished = false
        let consumed = input.withUnsafeReadableBytes { bytes -> Int in
            var runStart = 0
            var index = 0
            func flush(upTo end: Int) {
                if end > runStart { emit(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]), into: &output) }
                runStart = end
            }
            // A fault at `position`: the content before it is counted first, so that of two faults
            // (say a bare LF and the size limit) the earlier one is reported, however the input was
            // split into reads.
            func fail(_ fault: Fault, at position: Int) {
                if self.fault == nil, position > runStart { flush(upTo: position) }
                raise(fault)
            }
            while index < bytes.count {
                let byte = bytes[index]
                switch state {
                case .lineStart, .lineStartNormalized:
                    if byte == 0 {
                        // A NUL before anything else on the line: refused, or removed with the line
                        // start kept (a "." after it is stuffed: it never reaches the upstream alone).
                        if policy == .normalize {
                            flush(upTo: index)
                            runStart = index + 1
                            state = .lineStartNormalized
                            index += 1
                            continue
                        }
                        fail(.nul, at: index)
                        state = .inLine
                        lineLength = 0
                        continue
                    }
                    if byte == UInt8(ascii: ".") {
                        flush(upTo: index)
                        runStart = index + 1
                        if state == .lineStart {
                            state = .dot
                        } else {
                            emitStatic("..", into: &output)
                            state = .inLine
                            lineLength = 1
                        }
                        index += 1
                        continue
                    }
                    state = .inLine
                    lineLength = 0
                    continue // same byte, in line
                case .inLine:
                    // Fast path: skip to the next CR, LF or NUL in one tight loop.
                    if byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") && byte != 0 {
                        let end = Self.nextSpecial(in: bytes, from: index + 1)
                        let before = lineLength
                        lineLength += end - index
                        if lineLength > maxLineLength { fail(.lineTooLong, at: index + max(0, maxLineLength - before)) }
                        index = end
                        continue
                    }
                    if byte == 0 {
                        if policy == .normalize {
                            flush(upTo: index)
                            runStart = index + 1
                        } else {
                            fail(.nul, at: index)
                        }
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: "\r") {
                        state = .cr
                    } else if byte == UInt8(ascii: "\n") {
                        if policy == .normalize {
                            flush(upTo: index)
                            emitStatic("\r\n", into: &output)
                            runStart = index + 1
                            normalizedLineEndings += 1
                            state = .lineStartNormalized
                        } else {
                            fail(.bareLF, at: index)
                            lineLength = 0
                        }
                        index += 1
                        continue
                    } else {
                        lineLength += 1
                        if lineLength > maxLineLength { fail(.lineTooLong, at: index) }
                    }
                    index += 1
                case .cr:
                    if byte == UInt8(ascii: "\n") {
                        state = .lineStart
                        index += 1
                    } else {
                        // The CR before this byte was bare; it is already in the run.
                        if policy == .normalize {
                            flush(upTo: index)
                            emitStatic("\n", into: &output)
                            normalizedLineEndings += 1
                            state = .lineStartNormalized
                        } else {
                            fail(.bareCR, at: index)
                            state = .inLine
                        }
                        // reprocess this byte
                    }
                case .dot:
                    if byte == 0 {
                        // ".NUL": the withheld dot was transparency; with the NUL removed the line's
                        // content starts afresh, so what follows is stuffed again if it is a ".".
                        if policy == .normalize {
                            state = .lineStartNormalized
                        } else {
                            fail(.nul, at: index)
                            emitStatic(".", into: &output)
                            state = .inLine
                            lineLength = 1
                        }
                        index += 1
                        runStart = index
                        continue
                    }
                    if byte == UInt8(ascii: "\r") {
                        state = .dotCR
                        runStart = index + 1
                        index += 1
                    } else if byte == UInt8(ascii: "\n") {
                        if policy == .normalize {
                            emitStatic("..\r\n", into: &output)
                            normalizedLineEndings += 1
                            state = .lineStartNormalized
                        } else {
                            fail(.bareLF, at: index)
                            state = .inLine
                        }
                        index += 1
                        runStart = index
                    } else {
                        emitStatic(".", into: &output)
                        state = .inLine
                        lineLength = 1
                        runStart = index
                    }
                case .dotCR:
                    if byte == UInt8(ascii: "\n") {
                        index += 1
                        finished = true
                        return index
                    }
                    if policy == .normalize {
                        emitStatic("..\r\n", into: &output)
                        normalizedLineEndings += 1
                        state = .lineStartNormalized
                    } else {
                        fail(.bareCR, at: index)
                        state = .inLine
                    }
                    runStart = index
                }
            }
            // End of input: pass on the run; a withheld "." or ".\r" is not part of it.
            flush(upTo: bytes.count)
            return bytes.count
        }
        input.moveReaderIndex(forwardBy: consumed)
        return finished
    }

    /// The index of the first CR, LF or NUL at or after `start` (or `bytes.count`), eight octets at a time.
    @inline(__always)
    static func nextSpecial(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = start
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let cr = word ^ (ones &* 0x0D), lf = word ^ (ones &* 0x0A)
                // A zero octet in `cr`, `lf` or `word` marks a CR, an LF or a NUL (the classic "has zero
                // byte" test).
                if ((cr &- ones) & ~cr | (lf &- ones) & ~lf | (word &- ones) & ~word) & highs != 0 { break }
                index += 8
            }
        }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\r"), bytes[index] != UInt8(ascii: "\n"), bytes[index] != 0 {
            index += 1
        }
        return index
    }

    private mutating func raise(_ fault: Fault) {
        if self.fault == nil { self.fault = fault }
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        size += bytes.count
        if fault == nil, size > maxSize { fault = .tooLarge }
        if fault == nil { output.writeBytes(bytes) }
    }

    private mutating func emitStatic(_ text: StaticString, into output: inout ByteBuffer) {
        text.withUTF8Buffer { emit(UnsafeRawBufferPointer($0), into: &output) }
    }
}
