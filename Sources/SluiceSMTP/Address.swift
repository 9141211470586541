import NIOCore

/// A mailbox as written in an SMTP path: `local-part@domain`.
///
/// The local part keeps its case and quoting exactly as the client wrote it; the domain is kept as
/// written and compared case-insensitively (`normalizedDomain`).
public struct Mailbox: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    public var description: String { String(writtenBy: write) }

    /// `local-part@domain`, written straight into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeString(localPart)
        buffer.writeStaticString("@")
        buffer.writeString(domain)
    }

    /// The domain lower-cased and without a trailing dot, for comparisons.
    public var normalizedDomain: String {
        var domain = domain.lowercased()
        if domain.hasSuffix(".") { domain.removeLast() }
        return domain
    }

    /// True when the local part was written as a quoted string.
    public var isQuoted: Bool { localPart.hasPrefix("\"") }
}

/// A path: an optional source route (accepted as syntax and ignored, RFC 5321 §4.1.1.3) and a mailbox.
public struct Path: Hashable, Sendable, CustomStringConvertible {
    public var sourceRoute: [String]
    public var mailbox: Mailbox

    public init(sourceRoute: [String] = [], mailbox: Mailbox) {
        self.sourceRoute = sourceRoute
        self.mailbox = mailbox
    }

    /// The path as relayed upstream: the source route is dropped, as RFC 5321 Appendix C allows.
    public var description: String { String(writtenBy: write) }

    /// `<local-part@domain>`, written straight into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("<")
        mailbox.write(into: &buffer)
        buffer.writeStaticString(">")
    }
}

/// The argument of MAIL FROM: a path, or the null path `<>` of a bounce.
public enum ReversePath: Hashable, Sendable, CustomStringConvertible {
    case null
    case path(Path)

    public var description: String { String(writtenBy: write) }

    /// `<>` or the path, written straight into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .null: buffer.writeStaticString("<>")
        case .path(let path): path.write(into: &buffer)
        }
    }

    public var mailbox: Mailbox? {
        if case .path(let path) = self { return path.mailbox }
        return nil
    }
}

/// The argument of RCPT TO: a path, or the special `<Postmaster>` with no domain.
public enum ForwardPath: Hashable, Sendable, CustomStringConvertible {
    case postmaster(String)
    case path(Path)

    public var description: String { String(writtenBy: write) }

    /// `<Postmaster>` as written, or the path, written straight into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .postmaster(let written):
            buffer.writeStaticString("<")
            buffer.writeString(written)
            buffer.writeStaticString(">")
        case .path(let path): path.write(into: &buffer)
        }
    }

    public var mailbox: Mailbox? {
        if case .path(let path) = self { return path.mailbox }
        return nil
    }
}

/// One ESMTP parameter of MAIL or RCPT (`SIZE=1000`, `BODY=8BITMIME`, `NOTIFY=NEVER`).
public struct ESMTPParameter: Hashable, Sendable, CustomStringConvertible {
    /// The keyword, upper-cased.
    public var keyword: String
    public var value: String?

    public init(keyword: String, value: String? = nil) {
        self.keyword = keyword.uppercased()
        self.value = value
    }

    public var description: String { String(writtenBy: write) }

    /// `KEYWORD` or `KEYWORD=value`, written straight into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeString(keyword)
        if let value {
            buffer.writeStaticString("=")
            buffer.writeString(value)
        }
    }
}

public struct ESMTPParameters: Hashable, Sendable {
    public var items: [ESMTPParameter]

    public init(_ items: [ESMTPParameter] = []) { self.items = items }

    public subscript(keyword: String) -> ESMTPParameter? {
        let keyword = keyword.uppercased()
        return items.first { $0.keyword == keyword }
    }

    /// ` KEYWORD=value` for each parameter, as the client wrote them (nothing when there are none).
    public func write(into buffer: inout ByteBuffer) {
        for item in items {
            buffer.writeStaticString(" ")
            item.write(into: &buffer)
        }
    }

    /// The declared message size (RFC 1870), if any.
    public var size: Int? { self["SIZE"]?.value.flatMap { Int($0) } }
}

extension String {
    /// The text a `write(into:)` function writes: one definition serves the wire and the string form.
    init(writtenBy write: (inout ByteBuffer) -> Void) {
        var buffer = ByteBuffer()
        write(&buffer)
        self.init(buffer: buffer)
    }
}
