import NIOCore

/// A client command, parsed. Produced only by `CommandParser`.
public enum SMTPCommand: Hashable, Sendable {
    case helo(String)
    case ehlo(String)
    case mail(ReversePath, ESMTPParameters)
    case rcpt(ForwardPath, ESMTPParameters)
    case data
    case rset
    case noop(String?)
    case quit
    case vrfy(String)
    case expn(String)
    case help(String?)
    case startTLS
    case auth(String)
    case bdat(String)
    /// Postfix's XCLIENT (from a client listed in `xclient from`, or Sluice's own toward the upstream).
    case xclient([XClientAttribute])
    /// Postfix's XFORWARD (Sluice's own toward the upstream).
    case xforward([XClientAttribute])
    /// A well-formed line with a verb Sluice does not know (`HELOX`, `XCLIENT`, …).
    case unknown(verb: String)

    /// The verb, upper-cased, for logs and metrics.
    public var verb: String {
        switch self {
        case .helo: return "HELO"
        case .ehlo: return "EHLO"
        case .mail: return "MAIL"
        case .rcpt: return "RCPT"
        case .data: return "DATA"
        case .rset: return "RSET"
        case .noop: return "NOOP"
        case .quit: return "QUIT"
        case .vrfy: return "VRFY"
        case .expn: return "EXPN"
        case .help: return "HELP"
        case .startTLS: return "STARTTLS"
        case .auth: return "AUTH"
        case .bdat: return "BDAT"
        case .xclient: return "XCLIENT"
        case .xforward: return "XFORWARD"
        case .unknown(let verb): return verb.uppercased()
        }
    }

    /// The line sent upstream, without CRLF. Parameters travel as the client wrote them.
    public var wireLine: String { String(writtenBy: write) }

    /// Writes the line sent upstream, without CRLF, straight into `buffer` (no intermediate strings).
    public func write(into buffer: inout ByteBuffer) {
        func optional(_ verb: StaticString, _ text: String?) {
            buffer.writeStaticString(verb)
            if let text {
                buffer.writeStaticString(" ")
                buffer.writeString(text)
            }
        }
        switch self {
        case .helo(let domain): optional("HELO", domain)
        case .ehlo(let domain): optional("EHLO", domain)
        case .mail(let path, let parameters):
            buffer.writeStaticString("MAIL FROM:")
            path.write(into: &buffer)
            parameters.write(into: &buffer)
        case .rcpt(let path, let parameters):
            buffer.writeStaticString("RCPT TO:")
            path.write(into: &buffer)
            parameters.write(into: &buffer)
        case .data: buffer.writeStaticString("DATA")
        case .rset: buffer.writeStaticString("RSET")
        case .noop(let text): optional("NOOP", text)
        case .quit: buffer.writeStaticString("QUIT")
        case .vrfy(let text): optional("VRFY", text)
        case .expn(let text): optional("EXPN", text)
        case .help(let text): optional("HELP", text)
        case .startTLS: buffer.writeStaticString("STARTTLS")
        case .auth(let text): optional("AUTH", text)
        case .bdat(let text): optional("BDAT", text)
        case .unknown(let verb): buffer.writeString(verb)
        case .xclient(let attributes), .xforward(let attributes):
            if case .xclient = self { buffer.writeStaticString("XCLIENT") } else { buffer.writeStaticString("XFORWARD") }
            var bytes: [UInt8] = []
            for attribute in attributes {
                bytes.append(UInt8(ascii: " "))
                attribute.write(into: &bytes)
            }
            buffer.writeBytes(bytes)
        }
    }
}
