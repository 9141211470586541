import Glibc

/// Part structure: header blocks, boundaries, part creation and completion.
extension MIMEParser {
    /// One whole line, with its line end (none if `final`).
    mutating func processLine(_ line: UnsafeRawBufferPointer, final: Bool = false) {
        var count = line.count
        var eol = 0
        if count > 0 && line[count - 1] == Bytes.lf {
            count -= 1
            eol = 1
            if count > 0 && line[count - 1] == Bytes.cr { count -= 1; eol = 2 }
        }
        let content = UnsafeRawBufferPointer(rebasing: line[0..<count])
        if let (frame, close) = matchBoundary(content) {
            boundary(frame, close: close)
            return
        }
        while true {
            switch mode {
            case .ignore:
                return
            case .body:
                emitBody(content)
                pendingEOL = eol
                return
            case .header:
                if content.isEmpty { header.end(eol: eol); endHeaders(); return }
                if HeaderBlock.isHeaderLine(content) {
                    header.append(content, eol: eol)
                    justOpened = false
                    return
                }
                // As Python: a non-header line ends the block and is the first body line.
                notes.add("part \(current): header block ended by a line that is not a field")
                endHeaders()
            }
        }
    }

    /// The open multipart whose boundary `line` is, outermost first (the order Python's nested
    /// end-of-part matchers end up applying), and whether it is the close delimiter. A boundary
    /// line is `--boundary`, optionally `--`, then only spaces or tabs.
    func matchBoundary(_ line: UnsafeRawBufferPointer) -> (Int, Bool)? {
        guard !frames.isEmpty, line.count >= 2, line[0] == 0x2D, line[1] == 0x2D else { return nil }
        for (k, frame) in frames.enumerated() {
            let b = frame.boundary
            guard line.count >= 2 + b.count else { continue }
            let same = b.withUnsafeBytes { memcmp(line.baseAddress! + 2, $0.baseAddress!, b.count) == 0 }
            guard same else { continue }
            var j = 2 + b.count
            var close = false
            if j + 1 < line.count && line[j] == 0x2D && line[j + 1] == 0x2D { close = true; j += 2 }
            while j < line.count && Bytes.isWSP(line[j]) { j += 1 }
            if j == line.count { return (k, close) }
        }
        return nil
    }

    /// A boundary line of `frames[k]`.
    private mutating func boundary(_ k: Int, close: Bool) {
        // Python skips repeated boundary lines: they make no empty parts.
        if !close && mode == .header && justOpened && k == frames.count - 1 && parts[current].parent == frames[k].part {
            return
        }
        pendingEOL = 0
        closeCurrent()
        while frames.count > k + 1 {
            let inner = frames.removeLast()
            notes.add("part \(inner.part): close boundary missing (closed by an outer boundary)")
            if !inner.sawBoundary { notes.add("part \(inner.part): no boundary line found") }
        }
        if close {
            let frame = frames.removeLast()
            if !frame.sawBoundary { notes.add("part \(frame.part): no boundary line found") }
            mode = .ignore  // the epilogue
        } else {
            frames[k].sawBoundary = true
            let frame = frames[k]
            startPart(parent: frame.part, depth: frame.depth + 1,
                      defaultType: frame.isDigest ? "message/rfc822" : "text/plain", afterBoundary: true)
        }
    }

    /// Starts a part whose header block follows.
    private mutating func startPart(parent: Int, depth: Int, defaultType: String, afterBoundary: Bool) {
        guard parts.count < limits.parts else {
            if !partsExceeded { notes.add("more than \(limits.parts) parts: the rest skipped") }
            partsExceeded = true
            mode = .ignore
            return
        }
        current = parts.count
        parts.append(MIMEPart(index: current, parent: parent, depth: depth))
        header = HeaderBlock(limit: limits.partHeaderSize)
        self.defaultType = defaultType
        justOpened = afterBoundary
        mode = .header
    }

    /// The header block of the current part is complete: decide what its body is.
    private mutating func endHeaders() {
        var part = parts[current]
        part.headerSize = header.size
        part.headerOverflow = header.overflow
        if header.overflow { notes.add("part \(current): header block over its limit, later fields dropped") }
        let boundary = PartHeaders.apply(header.fields(), to: &part, defaultType: defaultType, notes: &notes)
        header = HeaderBlock(limit: 0)
        justOpened = false
        let type = part.contentType
        if type.hasPrefix("multipart/") {
            if let boundary {
                guard part.depth < limits.depth else { parts[current] = part; tooDeep(); return }
                part.isMultipart = true
                parts[current] = part
                frames.append(Frame(part: current, boundary: boundary, depth: part.depth, isDigest: type == "multipart/digest"))
                mode = .ignore  // the preamble
                return
            }
            // Python keeps the type but reads the body as one string; we read it as text.
            notes.add("part \(current): \(type) without boundary read as text/plain")
            part.contentType = "text/plain"
        } else if type == "message/rfc822" || type == "message/global" || type == "message/news" {
            if part.transferEncoding.isEncoded {
                notes.add("part \(current): encoded \(type) kept as a leaf")
            } else {
                parts[current] = part
                guard part.depth < limits.depth else { tooDeep(); return }
                startPart(parent: current, depth: part.depth + 1, defaultType: "text/plain", afterBoundary: false)
                return
            }
        }
        parts[current] = part
        startLeaf(opaque: false)
    }

    /// A container at the depth limit: its body is counted, not parsed or kept.
    private mutating func tooDeep() {
        if !depthExceeded { notes.add("nesting deeper than \(limits.depth): inner structure not parsed") }
        depthExceeded = true
        startLeaf(opaque: true)
    }

    private mutating func startLeaf(opaque: Bool) {
        let part = parts[current]
        let isText = part.isText && !opaque
        let limit = opaque ? 0 : min(isText ? limits.textPerPart : limits.retainedContent, budget)
        let leaf = LeafBody(encoding: opaque ? .binary : part.transferEncoding, isText: isText,
                            charset: part.charset, keepLimit: limit)
        if leaf.charsetUnknown {
            parts[current].charsetUnknown = true
            notes.add("part \(current): unknown charset \"\((part.charset ?? "").prefix(60))\" read as ISO-8859-1")
        }
        body = leaf
        pendingEOL = 0
        mode = .body
    }

    /// Completes whatever part is open (a header block cut short by a boundary or the end of
    /// input is completed as it stands, with an empty body).
    mutating func closeCurrent() {
        while mode == .header { endHeaders() }
        if mode == .body, var leaf = body {
            body = nil
            let bodyNotes = leaf.finish(scratch: scratch.pointer)
            var part = parts[current]
            part.decodedSize = leaf.decodedSize
            if leaf.isText {
                part.text = String(decoding: leaf.kept, as: UTF8.self)
                part.textTruncated = leaf.truncated
            } else {
                part.content = leaf.kept
                part.contentTruncated = leaf.truncated
            }
            budget = max(0, budget - leaf.kept.count)
            parts[current] = part
            for note in bodyNotes { notes.add("part \(current): \(note)") }
        }
        mode = .ignore
    }
}
