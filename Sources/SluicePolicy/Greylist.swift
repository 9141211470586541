import SluiceSMTP

/// Greylisting settings (`greylist …` statements).
public struct GreylistSettings: Hashable, Sendable {
    public enum Mode: String, Hashable, Sendable { case perRecipient = "per-recipient", perMessage = "per-message" }
    public enum OnError: String, Hashable, Sendable { case pass, tempfail }

    /// Seconds before a retry passes.
    public var delay: Int64 = 300
    /// Seconds after first contact within which a retry must come; later, the key starts over.
    public var retryWindow: Int64 = 48 * 3600
    /// Seconds a passed key (or an auto-allowed network) is remembered; refreshed on each pass.
    public var expire: Int64 = 35 * 86400
    /// Passes (counted at most once an hour) after which a client network skips greylisting; 0 = never.
    public var autoAllow: Int = 5
    public var ipv4Prefix = 24
    public var ipv6Prefix = 64
    public var mode: Mode = .perRecipient
    public var onError: OnError = .pass
    /// Seconds the store may take before `onError` applies.
    public var storeTimeout: Double = 2
    /// `user+tag@` counts as `user@` in the key.
    public var normalizeSubaddress = true
    /// The 4xx text; `%s` becomes the seconds to wait.
    public var text = "Greylisted, please try again in %s seconds"

    public init() {}
}

/// What greylisting is keyed on: client network, sender, recipient.
public struct GreylistKey: Hashable, Sendable, CustomStringConvertible {
    public var network: String
    public var sender: String
    public var recipient: String

    public init(network: String, sender: String, recipient: String) {
        self.network = network
        self.sender = sender
        self.recipient = recipient
    }

    public var description: String { "\(network) \(sender) -> \(recipient)" }
}

/// One key's remembered state.
public struct GreylistEntry: Hashable, Sendable {
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var passed: Bool
    /// For a passed key: until when it stays passed.
    public var expires: Int64

    public init(firstSeen: Int64, lastSeen: Int64, passed: Bool, expires: Int64) {
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.passed = passed
        self.expires = expires
    }
}

public enum GreylistDecision: Hashable, Sendable {
    case pass
    /// Deferred: the client may retry after this many seconds.
    case deferred(retryAfter: Int64)
}

/// The pure greylisting rules. Stores apply `transition` atomically (the PostgreSQL and SQLite upserts
/// are this function in SQL) and read the decision off the new entry.
public enum Greylist {
    public static func key(client: IPAddress, sender: ReversePath, recipient: ForwardPath, settings: GreylistSettings) -> GreylistKey {
        let network: String
        switch client {
        case .v4: network = CIDR.network(of: client, prefix: settings.ipv4Prefix)
        case .v6: network = CIDR.network(of: client, prefix: settings.ipv6Prefix)
        }
        var senderText = "<>"
        if let mailbox = sender.mailbox {
            var local = mailbox.localPart.lowercased()
            if settings.normalizeSubaddress, !mailbox.isQuoted, let plus = local.firstIndex(of: "+"), plus != local.startIndex {
                local = String(local[..<plus])
            }
            senderText = local + "@" + Normalize.domain(mailbox.domain)
        }
        let recipientText: String
        switch recipient {
        case .postmaster: recipientText = "postmaster"
        case .path(let path): recipientText = path.mailbox.localPart.lowercased() + "@" + Normalize.domain(path.mailbox.domain)
        }
        return GreylistKey(network: network, sender: senderText, recipient: recipientText)
    }

    /// The entry after a contact at `now`.
    public static func transition(_ entry: GreylistEntry?, now: Int64, settings: GreylistSettings) -> GreylistEntry {
        guard let entry else { return GreylistEntry(firstSeen: now, lastSeen: now, passed: false, expires: 0) }
        if entry.passed {
            if entry.expires >= now { return GreylistEntry(firstSeen: entry.firstSeen, lastSeen: now, passed: true, expires: now + settings.expire) }
            return GreylistEntry(firstSeen: now, lastSeen: now, passed: false, expires: 0) // expired: start over
        }
        let age = now - entry.firstSeen
        if age > settings.retryWindow { return GreylistEntry(firstSeen: now, lastSeen: now, passed: false, expires: 0) }
        if age >= settings.delay { return GreylistEntry(firstSeen: entry.firstSeen, lastSeen: now, passed: true, expires: now + settings.expire) }
        return GreylistEntry(firstSeen: entry.firstSeen, lastSeen: now, passed: false, expires: 0)
    }

    public static func decision(_ entry: GreylistEntry, now: Int64, settings: GreylistSettings) -> GreylistDecision {
        entry.passed ? .pass : .deferred(retryAfter: max(0, entry.firstSeen + settings.delay - now))
    }

    /// The 451 for a deferral.
    public static func reply(_ retryAfter: Int64, settings: GreylistSettings) -> SMTPReply {
        SMTPReply(code: 451, enhanced: "4.7.1", settings.text.replacing("%s", with: String(max(retryAfter, 1))))
    }
}

extension CIDR {
    /// `192.0.2.0/24` for 192.0.2.77 and 24.
    public static func network(of address: IPAddress, prefix: Int) -> String {
        switch address {
        case .v4(let value):
            let mask: UInt32 = prefix == 0 ? 0 : UInt32.max << (32 - min(prefix, 32))
            return "\(IPAddress.v4(value & mask))/\(prefix)"
        case .v6(let high, let low):
            let highMask: UInt64 = prefix >= 64 ? .max : (prefix == 0 ? 0 : UInt64.max << (64 - prefix))
            let lowMask: UInt64 = prefix >= 128 ? .max : (prefix <= 64 ? 0 : UInt64.max << (128 - prefix))
            return "\(IPAddress.v6(high & highMask, low & lowMask))/\(prefix)"
        }
    }
}
