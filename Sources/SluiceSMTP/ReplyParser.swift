import NIOCore

/// Incrementally parses replies from an upstream server: `250-…` continuation lines up to the `250 …`
/// line, with bounds on line length and line count so a broken upstream cannot make Sluice buffer
/// without end.
public struct ReplyParser: Sendable {
    public enum Error: Swift.Error, Hashable, Sendable {
        case lineTooLong
        case tooManyLines
        case malformed(String)
        case codeChangedWithinReply
    }

    public var maxLineLength: Int
    public var maxLines: Int
    private var code: Int?
    private var lines: [String] = []

    public init(maxLineLength: Int = 4096, maxLines: Int = 200) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
    }

    /// Consumes complete lines from `buffer`; returns the next complete reply, or nil when more bytes
    /// are needed (the partial line stays in `buffer`).
    public mutating func next(from buffer: inout ByteBuffer) throws(Error) -> SMTPReply? {
        while true {
            guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes > maxLineLength { throw .lineTooLong }
                return nil
            }
            let length = lf - buffer.readerIndex
            if length > maxLineLength { throw .lineTooLong }
            let end = length > 0 && buffer.getInteger(at: lf - 1, as: UInt8.self) == UInt8(ascii: "\r") ? length - 1 : length
            let reply = try buffer.withUnsafeReadableBytes { bytes throws(Error) in
                try accept(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            }
            buffer.moveReaderIndex(forwardBy: length + 1)
            if let reply { return reply }
        }
    }

    private mutating func accept(_ bytes: UnsafeRawBufferPointer) throws(Error) -> SMTPReply? {
        // A NUL or a bare CR inside a reply line is no SMTP: never passed on to the client.
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), !bytes.contains(0), !bytes.contains(13) else {
            throw .malformed(String(decoding: bytes.prefix(64), as: UTF8.self))
        }
        let value = Int(bytes[0] - 0x30) * 100 + Int(bytes[1] - 0x30) * 10 + Int(bytes[2] - 0x30)
        guard (200...599).contains(value) else { throw .malformed(String(decoding: bytes.prefix(64), as: UTF8.self)) }
        if let code, code != value { throw .codeChangedWithinReply }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw .malformed(String(decoding: bytes.prefix(64), as: UTF8.self))
        }
        let text = bytes.count > 4 ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[4...]), as: UTF8.self) : ""
        lines.append(text)
        if separator == UInt8(ascii: "-") {
            if lines.count >= maxLines { throw .tooManyLines }
            code = value
            return nil
        }
        let reply = SMTPReply(code: value, lines: lines)
        code = nil
        lines = []
        return reply
    }
}
