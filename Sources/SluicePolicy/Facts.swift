import SluiceSMTP

/// One header field of a message, unfolded.
public struct HeaderField: Hashable, Sendable {
    public var name: String
    public var value: String
    /// The name lower-cased once, for case-insensitive comparisons.
    public let key: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
        self.key = name.lowercased()
    }
}

/// What is known about a session and its message when a stage's rules run.
public struct Facts: Hashable, Sendable {
    public var client: IPAddress?
    public var clientText: String
    public var clientName: String?
    public var helo: String?
    public var sender: ReversePath?
    public var recipient: ForwardPath?
    public var recipientCount = 0
    /// The declared SIZE at MAIL, the actual size from the header stage on.
    public var size: Int?
    public var headers: [HeaderField] = []
    /// The body as received (dot-stuffing removed), up to the inspection window.
    public var body: [UInt8] = []
    public var tls = false
    public var authUser: String?
    public var tags: Set<String> = []

    public init(clientText: String) {
        self.clientText = clientText
        self.client = IPAddress(clientText)
    }

    /// With the client's address already parsed (a session parses it once).
    public init(clientText: String, client: IPAddress?) {
        self.clientText = clientText
        self.client = client
    }

    /// Adds what the content stages look at, from the message in wire form: the header fields
    /// (unfolded) and the body window with dot-stuffing removed. Returns the parsed header block.
    @discardableResult
    public mutating func addMessage(wire: [UInt8], headerLimit: Int = 256 * 1024, bodyLimit: Int) -> MessageHeader {
        let header = MessageHeader(wire: wire, limit: headerLimit)
        headers = header.fields.map { HeaderField(name: $0.name, value: $0.value) }
        body = MessageHeader.unstuffedBody(wire[header.length..<min(wire.count, header.length + bodyLimit)])
        return header
    }

    /// The text of a field, or nil when it has none (a condition on it is then false).
    func text(of field: Field) -> String? {
        switch field {
        case .client: return clientText
        case .clientName: return clientName
        case .helo: return helo
        case .sender:
            guard let sender else { return nil }
            return sender.mailbox.map(\.description) ?? ""
        case .senderDomain: return sender?.mailbox.map { Normalize.domain($0.domain) } ?? (sender == .null ? "" : nil)
        case .rcpt:
            switch recipient {
            case .postmaster(let text): return text
            case .path(let path): return path.mailbox.description
            case nil: return nil
            }
        case .rcptDomain: return recipient?.mailbox.map { Normalize.domain($0.domain) }
        case .authUser: return authUser
        case .authDomain:
            guard let authUser, let at = authUser.lastIndex(of: "@") else { return nil }
            return Normalize.domain(String(authUser[authUser.index(after: at)...]))
        case .header, .body: return nil
        case .size: return size.map(String.init)
        case .rcptCount: return String(recipientCount)
        }
    }

    func number(of field: Field) -> Int? {
        switch field {
        case .size: return size
        case .rcptCount: return recipientCount
        default: return nil
        }
    }
}
