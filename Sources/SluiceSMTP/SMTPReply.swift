import NIOCore

/// One SMTP reply: a three-digit code and one or more lines of text.
///
/// `lines` hold the text after the code and separator, exactly as received or written, so a relayed
/// multi-line reply keeps every line and its enhanced status code.
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        precondition((200...599).contains(code), "reply code out of range")
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// A reply whose every line starts with the enhanced status code `enhanced` (RFC 3463).
    public init(code: Int, enhanced: String, _ text: String) {
        self.init(code: code, lines: ["\(enhanced) \(text)"])
    }

    public var isPositive: Bool { code < 400 }
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    public var isIntermediate: Bool { (300..<400).contains(code) }
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    public var isPermanentFailure: Bool { code >= 500 }

    /// The enhanced status code at the start of the first line, if there is one (`5.7.1`).
    public var enhancedCode: String? {
        guard let first = lines.first, let word = first.split(separator: " ", maxSplits: 1).first else { return nil }
        let parts = word.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let cls = parts[0].first, "245".contains(cls), parts[0].count == 1,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) })
        else { return nil }
        return String(word)
    }

    /// The wire form: `250-first\r\n250 last\r\n`.
    public func write(into buffer: inout ByteBuffer) {
        let digits = (UInt8(ascii: "0") + UInt8(code / 100), UInt8(ascii: "0") + UInt8(code / 10 % 10),
                      UInt8(ascii: "0") + UInt8(code % 10))
        var size = 0
        for line in lines { size += line.utf8.count + 6 }
        buffer.reserveCapacity(minimumWritableBytes: size)
        for (index, line) in lines.enumerated() {
            buffer.writeInteger(digits.0)
            buffer.writeInteger(digits.1)
            buffer.writeInteger(digits.2)
            if line.isEmpty && index == lines.count - 1 {
                buffer.writeStaticString("\r\n")
                continue
            }
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
    }

    public var wireText: String {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return String(buffer: buffer)
    }

    /// The reply on one line, for logs: `550 5.7.1 Relay denied`.
    public var description: String { String(writtenBy: writeSummary) }

    /// The reply on one line (`550 5.7.1 Relay denied`, lines joined by ` / `), written straight into `buffer`.
    public func writeSummary(into buffer: inout ByteBuffer) {
        buffer.writeString(String(code))
        buffer.writeStaticString(" ")
        for (index, line) in lines.enumerated() {
            if index > 0 { buffer.writeStaticString(" / ") }
            buffer.writeString(line)
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
