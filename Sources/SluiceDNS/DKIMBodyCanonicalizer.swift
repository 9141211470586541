/// A message body's DKIM canonical form (RFC 6376 §3.4.3, §3.4.4), computed incrementally: fed the
/// body in chunks of any size (split anywhere, inside a CRLF too), it returns the canonical octets
/// each chunk completes. State across chunks is a few flags and a count: a run of empty lines is held
/// back as a number (it is dropped if the body ends there), never as buffered octets.
///
/// `simple`: trailing empty lines removed; a body not ending in CRLF gets one; an empty body is CRLF.
/// `relaxed`: also WSP at line ends deleted and WSP runs reduced to one SP (so a line of only WSP is
/// empty); an empty body stays empty (RFC 6376 erratum 1384), a non-empty one ends in CRLF.
/// A CR not followed by LF and a bare LF are ordinary octets of a line (the SMTP DATA decoder only
/// passes CRLF lines).
public struct DKIMBodyCanonicalizer: Sendable, Hashable {
    public let canonicalization: DKIMCanonicalization
    /// Empty lines seen and not yet written (they are written when a non-empty line follows).
    private var heldEmptyLines = 0
    /// The last octet fed was a CR, not yet known to start a CRLF.
    private var pendingCR = false
    /// Relaxed only: WSP seen in the current line and not yet written (as one SP).
    private var pendingSpace = false
    /// The current line has content written.
    private var lineHasContent = false
    /// Anything was written at all.
    private var wroteAnything = false
    private var finished = false

    public init(_ canonicalization: DKIMCanonicalization) {
        self.canonicalization = canonicalization
    }

    /// The canonical octets `chunk` completes, appended to `output`.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        precondition(!finished, "DKIMBodyCanonicalizer fed after finish")
        let relaxed = canonicalization == .relaxed
        for octet in chunk {
            if pendingCR {
                pendingCR = false
                if octet == 0x0A {
                    endLine(into: &output)
                    continue
                }
                content(0x0D, into: &output)
            }
            switch octet {
            case 0x0D:
                pendingCR = true
            case 0x20 where relaxed, 0x09 where relaxed:
                pendingSpace = true
            default:
                content(octet, into: &output)
            }
        }
    }

    public mutating func feed(_ chunk: [UInt8], into output: inout [UInt8]) {
        chunk.withUnsafeBytes { feed($0, into: &output) }
    }

    /// The canonical octets the end of the body completes (held empty lines are dropped).
    public mutating func finish(into output: inout [UInt8]) {
        guard !finished else { return }
        finished = true
        if pendingCR {
            pendingCR = false
            content(0x0D, into: &output)
        }
        if lineHasContent {
            output += [0x0D, 0x0A]
            wroteAnything = true
        } else if !wroteAnything && canonicalization == .simple {
            output += [0x0D, 0x0A]
        }
    }

    @inline(__always)
    private mutating func content(_ octet: UInt8, into output: inout [UInt8]) {
        if !lineHasContent {
            if heldEmptyLines > 0 {
                output.reserveCapacity(output.count + 2 * heldEmptyLines)
                for _ in 0..<heldEmptyLines { output += [0x0D, 0x0A] }
                heldEmptyLines = 0
            }
            lineHasContent = true
            wroteAnything = true
        }
        if pendingSpace {
            output.append(0x20)
            pendingSpace = false
        }
        output.append(octet)
    }

    private mutating func endLine(into output: inout [UInt8]) {
        pendingSpace = false
        if lineHasContent {
            output += [0x0D, 0x0A]
            lineHasContent = false
        } else {
            heldEmptyLines += 1
        }
    }
}
