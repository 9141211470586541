import Glibc

/// A streaming MIME parser. Feed the message as delivered (dot-stuffing removed; CRLF or bare LF
/// line ends) in chunks of any size, then call `finish()`. Memory stays bounded by `MIMELimits`
/// whatever the input; results do not depend on how the input is chunked.
///
/// Structure follows Python's `email.feedparser` where real mail is sloppy (see the tests for
/// the deliberate differences). The parser holds an iconv descriptor while a text part is open:
/// do not copy a parser and feed both copies.
public struct MIMEParser {
    enum Mode { case header, body, ignore }

    /// An open multipart: its part, boundary and depth.
    struct Frame {
        var part: Int
        var boundary: [UInt8]
        var depth: Int
        var isDigest: Bool
        /// A boundary line of this multipart was seen (else Python's StartBoundaryNotFound).
        var sawBoundary = false
    }

    let limits: MIMELimits
    var parts: [MIMEPart] = []
    var notes = NoteList()
    /// Open multiparts, outermost first.
    var frames: [Frame] = []
    var mode = Mode.header
    /// The part whose headers or body are being read.
    var current = 0
    var header: HeaderBlock
    var defaultType = "text/plain"
    var body: LeafBody?
    /// Right after a boundary line, before any header line (Python skips repeated boundary lines).
    var justOpened = false
    /// Retained octets still allowed over all parts.
    var budget: Int
    var depthExceeded = false
    var partsExceeded = false
    var size = 0
    var finished = false

    /// The incomplete line at the end of the last chunk (bounded by `limits.lineLength`).
    var pending: [UInt8] = []
    var pendingCut = false
    /// The current line was already passed on as body data (too long or cannot be a boundary).
    var midLine = false
    /// A CR held back at a chunk end while `midLine` (it may start a CRLF).
    var heldCR = false
    /// The line end after the last body line, held back: before a boundary it belongs to the
    /// boundary (RFC 2046 5.1.1). 0, 1 (LF) or 2 (CRLF).
    var pendingEOL = 0
    let scratch: Scratch

    public init(limits: MIMELimits = MIMELimits()) {
        self.limits = limits
        budget = limits.retainedTotal
        header = HeaderBlock(limit: limits.headerSize)
        scratch = Scratch(capacity: LeafBody.scratchCapacity)
        parts = [MIMEPart(index: 0, parent: nil, depth: 0)]
    }

    /// Feeds the next octets of the message.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Feeds the next octets of the message.
    public mutating func feed(_ buffer: UnsafeRawBufferPointer) {
        guard !finished, let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return }
        let n = buffer.count
        size += n
        var i = 0
        while i < n {
            if mode != .header && pending.isEmpty && !midLine {
                i = bodyRun(base, from: i, to: n)
                if i >= n { return }
            }
            let lf = Self.findLF(base, from: i, to: n)
            if lf == n { absorbPartial(base + i, count: n - i); return }
            let line = UnsafeRawBufferPointer(start: base + i, count: lf + 1 - i)
            if !midLine && !pending.isEmpty && mode != .header && pending.count + line.count > limits.lineLength {
                passPendingOn()  // too long to be a boundary line
            }
            if midLine {
                endMidLine(line)
            } else if pending.isEmpty && !(mode == .header && line.count > limits.lineLength) {
                processLine(line)
            } else {
                // (An over-long header line is cut the same whether it came in one chunk or several.)
                appendPending(line)
                let whole = pending
                pending.removeAll(keepingCapacity: true)
                pendingCut = false
                whole.withUnsafeBytes { processLine($0) }
            }
            i = lf + 1
        }
    }

    /// Ends the input and returns the message.
    public mutating func finish() -> MIMEMessage {
        if !finished {
            finished = true
            if midLine {
                if heldCR { heldCR = false; emitBody([Bytes.cr]) }
                heldCR = false
                midLine = false
            } else if !pending.isEmpty {
                let whole = pending
                pending.removeAll()
                whole.withUnsafeBytes { processLine($0, final: true) }
            }
            // A leaf directly in a multipart loses its last line end to the missing boundary
            // (as in Python); a lone top-level body keeps it.
            if frames.isEmpty { flushEOL() }
            closeCurrent()
            for frame in frames.reversed() { notes.add("part \(frame.part): close boundary missing (closed at end of input)") }
            frames.removeAll()
        }
        return MIMEMessage(
            parts: parts, headerSize: parts[0].headerSize, headerOverflow: parts[0].headerOverflow,
            depth: parts.map(\.depth).max() ?? 0, depthExceeded: depthExceeded, partsExceeded: partsExceeded,
            size: size, notes: notes.notes)
    }

    static func findLF(_ base: UnsafePointer<UInt8>, from i: Int, to n: Int) -> Int {
        guard let hit = memchr(base + i, Int32(Bytes.lf), n - i) else { return n }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    // MARK: Lines

    /// Passes whole body (or ignored) lines straight on until a line that may be a boundary;
    /// returns where it stopped (at that line, or at an incomplete line it could not pass on).
    private mutating func bodyRun(_ base: UnsafePointer<UInt8>, from start: Int, to n: Int) -> Int {
        let checking = !frames.isEmpty
        var i = start
        var contentEnd = -1  // end of the last whole line's content
        var eol = 0
        while i < n {
            if checking && base[i] == 0x2D && (i + 1 >= n || base[i + 1] == 0x2D) { break }
            let lf = Self.findLF(base, from: i, to: n)
            if lf == n {
                // An incomplete line that cannot be a boundary: pass it on now.
                emitRun(base, start, contentEnd, eol)
                let tail = contentEnd < 0 ? start : contentEnd + eol
                startMidLine(base + tail, count: n - tail)
                return n
            }
            contentEnd = (lf > i && base[lf - 1] == Bytes.cr) ? lf - 1 : lf
            eol = contentEnd == lf ? 1 : 2
            i = lf + 1
        }
        emitRun(base, start, contentEnd, eol)
        return i
    }

    /// Emits the lines from `start` up to `contentEnd` (their last line end held back).
    private mutating func emitRun(_ base: UnsafePointer<UInt8>, _ start: Int, _ contentEnd: Int, _ eol: Int) {
        guard contentEnd >= 0 else { return }
        emitBody(UnsafeRawBufferPointer(start: base + start, count: contentEnd - start))
        pendingEOL = eol
    }

    /// Starts (or continues) passing on a line before its end is seen; a CR at the end is held
    /// back, as it may start the CRLF.
    private mutating func startMidLine(_ p: UnsafePointer<UInt8>, count: Int) {
        midLine = true
        guard count > 0 else { return }
        if heldCR { heldCR = false; emitBody([Bytes.cr]) }
        var k = count
        if p[k - 1] == Bytes.cr { heldCR = true; k -= 1 }
        emitBody(UnsafeRawBufferPointer(start: p, count: k))
    }

    /// The rest of a line already being passed on, through its LF.
    private mutating func endMidLine(_ line: UnsafeRawBufferPointer) {
        let content = line.count - 1
        var eol = 1
        var k = content
        if content == 0 {
            if heldCR { eol = 2 }
        } else {
            if heldCR { emitBody([Bytes.cr]) }
            if line[content - 1] == Bytes.cr { k -= 1; eol = 2 }
            emitBody(UnsafeRawBufferPointer(rebasing: line[0..<k]))
        }
        heldCR = false
        midLine = false
        pendingEOL = eol
    }

    /// Keeps an incomplete line for the next chunk, or passes it on if it cannot be a boundary
    /// or is too long.
    private mutating func absorbPartial(_ p: UnsafePointer<UInt8>, count: Int) {
        if midLine { startMidLine(p, count: count); return }
        guard mode != .header else {
            appendPending(UnsafeRawBufferPointer(start: p, count: count))
            return
        }
        if pending.count + count < limits.lineLength {
            pending.append(contentsOf: UnsafeBufferPointer(start: p, count: count))
            if mayBeBoundary(pending) { return }
            passPendingOn()
        } else {
            passPendingOn()
            startMidLine(p, count: count)
        }
    }

    /// The buffered start of a line that turned out not to be a boundary: pass it on as body.
    private mutating func passPendingOn() {
        midLine = true
        guard !pending.isEmpty else { return }
        let whole = pending
        pending.removeAll(keepingCapacity: true)
        whole.withUnsafeBufferPointer { startMidLine($0.baseAddress!, count: $0.count) }
    }

    private mutating func appendPending(_ bytes: UnsafeRawBufferPointer) {
        let room = max(0, limits.lineLength - pending.count)
        if bytes.count > room {
            // Only header lines get here past the limit (body lines are passed on): cut them.
            let keepsLF = bytes.last == Bytes.lf
            pending.append(contentsOf: bytes.prefix(room))
            if keepsLF { pending.append(Bytes.lf) }
            if !pendingCut { notes.add("part \(current): over-long line cut at \(limits.lineLength) octets") }
            pendingCut = true
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private func mayBeBoundary(_ line: [UInt8]) -> Bool {
        guard !frames.isEmpty else { return false }
        if line.count == 1 { return line[0] == 0x2D }
        return line.count >= 2 && line[0] == 0x2D && line[1] == 0x2D
    }

    /// Emits the held-back line end into the body.
    mutating func flushEOL() {
        let eol = pendingEOL
        pendingEOL = 0
        switch eol {
        case 1: emitBody([Bytes.lf])
        case 2: emitBody([Bytes.cr, Bytes.lf])
        default: break
        }
        pendingEOL = 0
    }

    /// Body octets of the current leaf (after any held-back line end).
    mutating func emitBody(_ bytes: UnsafeRawBufferPointer) {
        guard mode == .body, body != nil else { pendingEOL = 0; return }
        if pendingEOL != 0 {
            let eol = pendingEOL
            pendingEOL = 0
            if eol == 1 { emitBody([Bytes.lf]) } else { emitBody([Bytes.cr, Bytes.lf]) }
        }
        guard bytes.count > 0 else { return }
        body!.write(bytes, scratch: scratch.pointer)
    }

    mutating func emitBody(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { emitBody($0) }
    }
}

/// A decoding buffer owned by the parser.
final class Scratch {
    let pointer: UnsafeMutablePointer<UInt8>
    init(capacity: Int) { pointer = .allocate(capacity: capacity) }
    deinit { pointer.deallocate() }
}

extension MIMEParser {
    /// Octets the parser holds right now: retained text and content, header fields, the open
    /// header block, the line buffer and the open leaf's prefix (for memory-bound checks).
    public var retainedOctets: Int {
        var total = header.bytes.count + pending.count + (body?.kept.count ?? 0)
        for part in parts {
            total += part.content.count + (part.text?.utf8.count ?? 0)
            for field in part.headers { total += field.raw.count + field.value.utf8.count }
        }
        return total
    }
}
