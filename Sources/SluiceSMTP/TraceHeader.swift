#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Foundation
import NIOCore

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
    public var text: String { String(writtenBy: write) }

    /// Writes the header straight into `buffer` (the message's first outgoing buffer): no intermediate strings.
    public func write(into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: 128 + helo.utf8.count + hostname.utf8.count + (recipient?.utf8.count ?? 0)
                               + (clientName?.utf8.count ?? 0) + (tls?.utf8.count ?? 0))
        buffer.writeStaticString("Received: from ")
        buffer.writeString(Self.sanitized(helo))
        buffer.writeStaticString(" (")
        if let clientName {
            buffer.writeString(clientName)
            buffer.writeStaticString(" ")
        }
        let v6 = clientAddress.utf8.contains(UInt8(ascii: ":"))
        buffer.writeStaticString(v6 ? "[IPv6:" : "[")
        buffer.writeString(clientAddress)
        buffer.writeStaticString("])\r\n")
        if let tls {
            buffer.writeStaticString("\t(using ")
            buffer.writeString(tls)
            buffer.writeStaticString(")\r\n")
        }
        buffer.writeStaticString("\tby ")
        buffer.writeString(hostname)
        buffer.writeStaticString(" (Sluice) with ")
        buffer.writeStaticString(esmtp ? "ESMTP" : "SMTP")
        if tls != nil { buffer.writeStaticString("S") }
        buffer.writeStaticString(" id ")
        buffer.writeString(sessionID)
        if let recipient {
            buffer.writeStaticString("\r\n\tfor ")
            buffer.writeString(Self.sanitized(recipient))
        }
        buffer.writeStaticString("; ")
        Self.writeRFC5322Date(date, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// A HELO argument may hold anything printable; keep the header one well-formed field.
    static func sanitized(_ value: String) -> String {
        let clean = value.utf8.count <= 255 && value.utf8.allSatisfy {
            $0 >= 32 && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: ";")
        }
        if clean { return value } // the usual case: nothing to replace, no copy
        return String(value.unicodeScalars.prefix(255).map { $0.value < 32 || $0 == "(" || $0 == ")" || $0 == ";" ? "_" : Character($0) })
    }

    private static let days: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Thu, 1 Jan 1970 00:00:00 +0000`, in UTC, digit by digit.
    static func writeRFC5322Date(_ date: Date, into buffer: inout ByteBuffer) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var c = tm()
        gmtime_r(&seconds, &c)
        func digits(_ value: Int32, width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        buffer.writeStaticString(days[Int(c.tm_wday)])
        buffer.writeStaticString(", ")
        digits(c.tm_mday, width: c.tm_mday < 10 ? 1 : 2)
        buffer.writeStaticString(" ")
        buffer.writeStaticString(months[Int(c.tm_mon)])
        buffer.writeStaticString(" ")
        digits(c.tm_year + 1900, width: 4)
        buffer.writeStaticString(" ")
        digits(c.tm_hour, width: 2)
        buffer.writeStaticString(":")
        digits(c.tm_min, width: 2)
        buffer.writeStaticString(":")
        digits(c.tm_sec, width: 2)
        buffer.writeStaticString(" +0000")
    }
}
