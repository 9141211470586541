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
///
/// A value with its fields in one copy-on-write box: a request carries it through the policy
/// pipeline, and a copy is one retain instead of one per field.
public struct Facts: Hashable, Sendable {
    private final class Storage: @unchecked Sendable {
        var client: IPAddress? = nil
        var clientText: String
        var clientName: String? = nil
        var clientNameUnverified: String? = nil
        var unavailable: Set<Field> = []
        var dnsLists: [String: DNSListResult] = [:]
        var dnsblScore: Int? = nil
        var authentication = Authentication()
        var helo: String? = nil
        var sender: ReversePath? = nil
        var recipient: ForwardPath? = nil
        var recipientCount: Int = 0
        var size: Int? = nil
        var headers: [HeaderField] = []
        var body: [UInt8] = []
        var content = MessageContent()
        var tls: Bool = false
        var authUser: String? = nil
        var tags: Set<String> = []

        init(clientText: String, client: IPAddress?) {
            self.clientText = clientText
            self.client = client
        }

        func copy() -> Storage {
            let copy = Storage(clientText: clientText, client: client)
            copy.clientName = clientName
            copy.clientNameUnverified = clientNameUnverified
            copy.unavailable = unavailable
            copy.dnsLists = dnsLists
            copy.dnsblScore = dnsblScore
            copy.authentication = authentication
            copy.helo = helo
            copy.sender = sender
            copy.recipient = recipient
            copy.recipientCount = recipientCount
            copy.size = size
            copy.headers = headers
            copy.body = body
            copy.content = content
            copy.tls = tls
            copy.authUser = authUser
            copy.tags = tags
            return copy
        }
    }

    private var storage: Storage

    public init(clientText: String) {
        storage = Storage(clientText: clientText, client: IPAddress(clientText))
    }

    /// With the client's address already parsed (a session parses it once).
    public init(clientText: String, client: IPAddress?) {
        storage = Storage(clientText: clientText, client: client)
    }

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public var client: IPAddress? {
        get { storage.client }
        set { unique().client = newValue }
    }
    public var clientText: String {
        get { storage.clientText }
        set { unique().clientText = newValue }
    }
    public var clientName: String? {
        get { storage.clientName }
        set { unique().clientName = newValue }
    }
    /// The raw PTR name (not forward-confirmed), once looked up.
    public var clientNameUnverified: String? {
        get { storage.clientNameUnverified }
        set { unique().clientNameUnverified = newValue }
    }
    /// Fields whose lookup failed for now (DNS): a rule that reads one tempfails (`451 4.4.3`).
    public var unavailable: Set<Field> {
        get { storage.unavailable }
        set { unique().unavailable = newValue }
    }

    /// What each DNS list said about the client (by list name), once looked up.
    public var dnsLists: [String: DNSListResult] {
        get { storage.dnsLists }
        set { unique().dnsLists = newValue }
    }
    /// SPF (from MAIL on), DKIM and DMARC (at the end of the message).
    public var authentication: Authentication {
        get { storage.authentication }
        set {
            let storage = unique()
            storage.authentication = newValue
            let failed = newValue.failedFields
            if !failed.isEmpty { storage.unavailable.formUnion(failed) }
        }
    }

    /// The weights of the DNS lists that list the client, summed (`dnsbl.score`).
    public var dnsblScore: Int? {
        get { storage.dnsblScore }
        set { unique().dnsblScore = newValue }
    }

    /// A fact whose lookup failed for now was read by a rule (`client.name`, `client in zen`).
    public struct Unavailable: Error, Hashable, Sendable {
        public var what: String
    }

    /// Throws when `field`'s lookup failed (the common case, nothing failed, is one check).
    func requireKnown(_ field: Field) throws(Unavailable) {
        if !storage.unavailable.isEmpty, storage.unavailable.contains(field) { throw Unavailable(what: field.description) }
    }

    /// Whether the DNS list says the client is listed; throws when its lookup failed.
    func listed(in list: DNSList, for field: Field = .client) throws(Unavailable) -> Bool {
        switch storage.dnsLists[list.key(for: field)] {
        case .listed?: return true
        case .notListed?, nil: return false
        case .failed?: throw Unavailable(what: "\(field) in \(list.name)")
        }
    }

    public var helo: String? {
        get { storage.helo }
        set { unique().helo = newValue }
    }
    public var sender: ReversePath? {
        get { storage.sender }
        set { unique().sender = newValue }
    }
    public var recipient: ForwardPath? {
        get { storage.recipient }
        set { unique().recipient = newValue }
    }
    public var recipientCount: Int {
        get { storage.recipientCount }
        set { unique().recipientCount = newValue }
    }
    /// The declared SIZE at MAIL, the actual size from the header stage on.
    public var size: Int? {
        get { storage.size }
        set { unique().size = newValue }
    }
    public var headers: [HeaderField] {
        get { storage.headers }
        set { unique().headers = newValue }
    }
    /// The body as received (dot-stuffing removed), up to the inspection window (`body.raw`).
    public var body: [UInt8] {
        get { storage.body }
        set { unique().body = newValue }
    }
    /// The message decoded: texts, raw and inner header fields, attachments (the message point).
    public var content: MessageContent {
        get { storage.content }
        set { unique().content = newValue }
    }
    public var tls: Bool {
        get { storage.tls }
        set { unique().tls = newValue }
    }
    public var authUser: String? {
        get { storage.authUser }
        set { unique().authUser = newValue }
    }
    public var tags: Set<String> {
        get { storage.tags }
        set { unique().tags = newValue }
    }

    /// Adds tags in place (a `tags` setter would copy the set first).
    public mutating func insertTags(_ more: Set<String>) {
        guard !more.isEmpty else { return }
        unique().tags.formUnion(more)
    }

    public mutating func insertTags(_ more: [String]) {
        guard !more.isEmpty else { return }
        unique().tags.formUnion(more)
    }

    public static func == (lhs: Facts, rhs: Facts) -> Bool {
        lhs.storage === rhs.storage || (lhs.client == rhs.client && lhs.clientText == rhs.clientText && lhs.clientName == rhs.clientName && lhs.clientNameUnverified == rhs.clientNameUnverified && lhs.unavailable == rhs.unavailable && lhs.dnsLists == rhs.dnsLists && lhs.dnsblScore == rhs.dnsblScore && lhs.authentication == rhs.authentication && lhs.helo == rhs.helo && lhs.sender == rhs.sender && lhs.recipient == rhs.recipient && lhs.recipientCount == rhs.recipientCount && lhs.size == rhs.size && lhs.headers == rhs.headers && lhs.body == rhs.body && lhs.content == rhs.content && lhs.tls == rhs.tls && lhs.authUser == rhs.authUser && lhs.tags == rhs.tags)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(clientText)
        hasher.combine(sender)
        hasher.combine(recipient)
    }

    /// Adds what the content stages look at, from the message in wire form: the header fields
    /// (unfolded) and the body window with dot-stuffing removed, undecoded. Returns the parsed header block.
    @discardableResult
    public mutating func addMessage(wire: [UInt8], headerLimit: Int = 256 * 1024, bodyLimit: Int) -> MessageHeader {
        let header = MessageHeader(wire: wire, limit: headerLimit)
        headers = header.fields.map { HeaderField(name: $0.name, value: $0.value) }
        body = MessageHeader.unstuffedBody(wire[header.length..<min(wire.count, header.length + bodyLimit)])
        // Undecoded until the message step puts the MIME-decoded content in (`content`): then `body`
        // rules see the text parts; here (a message given as octets alone) they see the raw window.
        var content = MessageContent()
        content.bodyTexts = [String(decoding: body, as: UTF8.self)]
        content.rawHeaders = headers
        self.content = content
        return header
    }

    /// The header fields a `header`, `header.raw` or `part.header` field looks at.
    func headerFields(of field: Field) -> [HeaderField] {
        switch field {
        case .headerRaw: return storage.content.rawHeaders
        case .partHeader: return storage.content.partHeaders
        default: return storage.headers
        }
    }

    /// The values of a multi-valued field (one or more per attachment).
    func texts(of field: Field) -> [String] {
        let attachments = storage.content.attachments
        switch field {
        case .attachmentName: return attachments.flatMap(\.names)
        case .attachmentType: return attachments.map(\.declaredType)
        case .attachmentMagic: return attachments.map(\.magic)
        default: return []
        }
    }

    /// The text of a field, or nil when it has none (a condition on it is then false).
    func text(of field: Field) -> String? {
        switch field {
        case .client: return clientText
        case .clientName: return clientName
        case .clientNameUnverified: return clientNameUnverified
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
        case .header, .body, .headerRaw, .partHeader, .bodyRaw, .attachmentName, .attachmentType, .attachmentMagic: return nil
        case .attachmentSize: return nil
        case .mimeParts: return String(content.parts)
        case .mimeDepth: return String(content.depth)
        case .size: return size.map(String.init)
        case .dnsblScore: return dnsblScore.map(String.init)
        case .spf: return authentication.spf?.result.rawValue
        case .spfHelo: return authentication.spfHelo?.result.rawValue
        case .dkim: return authentication.dkimResult
        case .dkimDomain: return authentication.dkimDomain
        case .dmarc: return authentication.dmarc?.result.rawValue
        case .dmarcPolicy: return authentication.dmarc.map { $0.policy?.rawValue ?? "" }
        case .rcptCount: return String(recipientCount)
        }
    }

    func number(of field: Field) -> Int? {
        switch field {
        case .size: return size
        case .rcptCount: return recipientCount
        case .dnsblScore: return dnsblScore
        case .mimeParts: return content.parts
        case .mimeDepth: return content.depth
        default: return nil
        }
    }
}
