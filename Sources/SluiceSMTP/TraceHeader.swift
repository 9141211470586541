#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Foundation

/// The `Received:` trace header Sluice prepends to every relayed message (RFC 5321 §4.4).
public struct TraceHeader: Sendable {
    public var hostname: String
    public var helo: String
    public var clientAddress: String
    public var clientName: String?
    public var sessionID: String
    public var esmtp: Bool
    public var recipient: String?
    public var date: Date
    /// `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384` when the client used TLS.
    public var tls: String?

    public init(hostname: String, helo: String, clientAddress: String, clientName: String? = nil, sessionID: String,
                esmtp: Bool, recipient: String? = nil, date: Date, tls: String? = nil) {
        self.hostname = hostname
        self.helo = helo
        self.clientAddress = clientAddress
        self.clientName = clientName
        self.sessionID = sessionID
        self.esmtp = esmtp
        self.recipient = recipient
        self.date = date
        self.tls = tls
    }

    /// `Received: from HELO (NAME [ADDR])\r\n\tby HOST (Sluice) with ESMTP id ID\r\n\tfor <RCPT>; DATE\r\n`
    public var text: String {
        let literal = clientAddress.utf8.contains(UInt8(ascii: ":")) ? "[IPv6:\(clientAddress)]" : "[\(clientAddress)]"
        let name = clientName.map { "\($0) \(literal)" } ?? literal
        var text = "Received: from \(Self.sanitized(helo)) (\(name))\r\n"
        if let tls { text += "\t(using \(tls))\r\n" }
        text += "\tby \(hostname) (Sluice) with \(esmtp ? "ESMTP" : "SMTP")\(tls == nil ? "" : "S") id \(sessionID)"
        if let recipient { text += "\r\n\tfor \(Self.sanitized(recipient))" }
        text += "; \(Self.rfc5322Date(date))\r\n"
        return text
    }

    /// A HELO argument may hold anything printable; keep the header one well-formed field.
    static func sanitized(_ value: String) -> String {
        let clean = value.utf8.count <= 255 && value.utf8.allSatisfy {
            $0 >= 32 && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: ";")
        }
        if clean { return value } // the usual case: nothing to replace, no copy
        return String(value.unicodeScalars.prefix(255).map { $0.value < 32 || $0 == "(" || $0 == ")" || $0 == ";" ? "_" : Character($0) })
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var c = tm()
        gmtime_r(&seconds, &c)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(Self.days[Int(c.tm_wday)]), \(c.tm_mday) \(Self.months[Int(c.tm_mon)]) \(c.tm_year + 1900) \(two(c.tm_hour)):\(two(c.tm_min)):\(two(c.tm_sec)) +0000"
    }
}
