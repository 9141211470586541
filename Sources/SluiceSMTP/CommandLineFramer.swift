import NIOCore

/// Frames client command lines. Only CRLF ends a line; everything else is reported as a value so the
/// session can answer it, and nothing is ever buffered beyond `maxLength`.
public struct CommandLineFramer: Sendable {
    public enum Fault: Hashable, Sendable {
        /// The line was longer than the limit (its bytes were dropped as they came).
        case tooLong
        /// A LF without the CR before it ended the line.
        case bareLF
        /// A CR not followed by LF inside the line.
        case bareCR
        /// A NUL octet inside the line.
        case nul
    }

    public enum Event: Hashable, Sendable {
        /// One command line, CRLF removed.
        case line(ByteBuffer)
        case fault(Fault)
    }

    /// Longest line accepted, CRLF included.
    public var maxLength: Int
    private var discarding = false

    public init(maxLength: Int = 512) {
        self.maxLength = maxLength
    }

    /// The next line or fault in `buffer`, or nil when the rest of a line has not arrived yet.
    public mutating func next(from buffer: inout ByteBuffer) -> Event? {
        guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if discarding || buffer.readableBytes >= maxLength {
                // Keep a trailing CR: it may be the first half of the CRLF that ends this long line.
                let keep = buffer.readableBytesView.last == UInt8(ascii: "\r") ? 1 : 0
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes - keep)
                discarding = true
            }
            return nil
        }
        let length = lf - buffer.readerIndex
        let hasCR = length > 0 && buffer.getInteger(at: lf - 1, as: UInt8.self) == UInt8(ascii: "\r")
        if discarding {
            // Too long, whatever ends it: the same answer as for a line that arrived in one read.
            buffer.moveReaderIndex(forwardBy: length + 1)
            discarding = false
            return .fault(.tooLong)
        }
        if length + (hasCR ? 1 : 2) > maxLength {
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .fault(.tooLong)
        }
        guard hasCR else {
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .fault(.bareLF)
        }
        let line = buffer.readSlice(length: length - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        if line.readableBytesView.contains(UInt8(ascii: "\r")) { return .fault(.bareCR) }
        if line.readableBytesView.contains(0) { return .fault(.nul) }
        return .line(line)
    }
}
