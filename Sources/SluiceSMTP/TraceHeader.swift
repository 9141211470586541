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

    public init(hostname: String, helo: String, clientAddress: String, clientName: String? = nil, sessionID: String,
                esmtp: Bool, recipient: String? = nil, date: Date) {
        self.hostname = hostname
        self.helo = helo
        self.clientAddress = clientAddress
        self.clientName = clientName
        self.sessionID = sessionID
        self.esmtp = esmtp
        self.recipient = recipient
        self.date = date
    }

    /// `Received: from HELO (NAME [ADDR])\r\n\tby HOST (Sluice) with ESMTP id ID\r\n\tfor <RCPT>; DATE\r\n`
    public var text: String {
        let literal = clientAddress.contains(":") ? "[IPv6:\(clientAddress)]" : "[\(clientAddress)]"
        let name = clientName.map { "\($0) \(literal)" } ?? literal
        var text = "Received: from \(Self.sanitized(helo)) (\(name))\r\n\tby \(hostname) (Sluice) with \(esmtp ? "ESMTP" : "SMTP") id \(sessionID)"
        if let recipient { text += "\r\n\tfor \(Self.sanitized(recipient))" }
        text += "; \(Self.rfc5322Date(date))\r\n"
        return text
    }

    /// A HELO argument may hold anything printable; keep the header one well-formed field.
    static func sanitized(_ value: String) -> String {
        String(value.unicodeScalars.prefix(255).map { $0.value < 32 || $0 == "(" || $0 == ")" || $0 == ";" ? "_" : Character($0) })
    }

    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[(c.weekday ?? 1) - 1]), \(c.day ?? 1) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) \(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }
}
