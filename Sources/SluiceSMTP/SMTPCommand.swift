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
        case .unknown(let verb): return verb.uppercased()
        }
    }

    /// The line sent upstream, without CRLF. Parameters travel as the client wrote them.
    public var wireLine: String {
        func withParameters(_ head: String, _ parameters: ESMTPParameters) -> String {
            parameters.items.isEmpty ? head : head + " " + parameters.items.map(\.description).joined(separator: " ")
        }
        switch self {
        case .helo(let domain): return "HELO \(domain)"
        case .ehlo(let domain): return "EHLO \(domain)"
        case .mail(let path, let parameters): return withParameters("MAIL FROM:\(path)", parameters)
        case .rcpt(let path, let parameters): return withParameters("RCPT TO:\(path)", parameters)
        case .data: return "DATA"
        case .rset: return "RSET"
        case .noop(let text): return text.map { "NOOP \($0)" } ?? "NOOP"
        case .quit: return "QUIT"
        case .vrfy(let text): return "VRFY \(text)"
        case .expn(let text): return "EXPN \(text)"
        case .help(let text): return text.map { "HELP \($0)" } ?? "HELP"
        case .startTLS: return "STARTTLS"
        case .auth(let text): return "AUTH \(text)"
        case .bdat(let text): return "BDAT \(text)"
        case .unknown(let verb): return verb
        }
    }
}
