/// A DNS block (or allow) list: `list zen dnsbl "zen.example" weight 2 { 127.0.0.2, 127.0.0.4-127.0.0.7 }`.
/// The client's address, reversed (IPv6 in nibbles), is looked up as an A record under the zone; an
/// answer in one of the codes (any 127.0.0.0/8 answer when none are given) is a hit. Answers in
/// 127.255.255.0/24 are the lists' "you are querying too much / from an open resolver" codes: an
/// error, never a hit.
public struct DNSList: Hashable, Sendable {
    public var name: String
    public var zone: String
    public var weight: Int
    public var codes: [ClosedRange<UInt32>]

    public init(name: String, zone: String, weight: Int = 1, codes: [ClosedRange<UInt32>] = []) {
        self.name = name
        self.zone = zone.hasSuffix(".") ? String(zone.dropLast()) : zone
        self.weight = weight
        self.codes = codes
    }

    /// `2.0.0.127.zen.example`, or 32 nibbles then the zone for IPv6.
    public func queryName(for ip: IPAddress) -> String {
        ip.reversedLabels + "." + zone
    }

    /// `example.com.dbl.example`: a right-hand-side (domain) list's query for `domain`.
    public func queryName(forDomain domain: String) -> String {
        "\(domain).\(zone)"
    }

    /// The key of a list's answer in the facts: the list's name for the client, `NAME@FIELD` for a domain.
    public func key(for field: Field) -> String {
        field == .client ? name : "\(name)@\(field)"
    }

    /// What the A records of the query name say (nil: the name does not exist, so not listed).
    public func result(answers: [UInt32]) -> DNSListResult {
        if answers.contains(where: { $0 >> 8 == 0x7FFFFF }) { return .failed } // 127.255.255.x
        let hit = answers.contains { answer in
            codes.isEmpty ? answer >> 24 == 127 : codes.contains { $0.contains(answer) }
        }
        return hit ? .listed : .notListed
    }
}

extension IPAddress {
    /// The address as DNS labels, least significant first: `4.3.2.1` for 1.2.3.4, the 32 nibbles of an
    /// IPv6 address. Under `in-addr.arpa`/`ip6.arpa` it is the PTR name; under a list's zone, its query.
    public var reversedLabels: String {
        switch self {
        case .v4(let value):
            return "\(value & 255).\(value >> 8 & 255).\(value >> 16 & 255).\(value >> 24)"
        case .v6(let high, let low):
            let digits = Array("0123456789abcdef")
            var nibbles: [String] = []
            for word in [low, high] {
                for shift in stride(from: 0, to: 64, by: 4) { nibbles.append(String(digits[Int(word >> UInt64(shift) & 15)])) }
            }
            return nibbles.joined(separator: ".")
        }
    }
}

/// What a DNS list said about the client.
public enum DNSListResult: Hashable, Sendable {
    case listed, notListed
    /// SERVFAIL, no answer in time, or a 127.255.255.x code: unknown, so a rule that reads it defers.
    case failed
}

extension Condition {
    /// The DNS lists the condition reads for the client (`client in zen`).
    public var dnsLists: [DNSList] {
        domainLists.filter { $0.0 == .client }.map(\.1)
    }

    /// Every DNS list the condition reads, with the field it looks up (`client`, `helo`, `sender.domain`).
    public var domainLists: [(Field, DNSList)] {
        switch self {
        case .inList(let field, let list):
            if case .dnsbl(let dnsList) = list.items { return [(field, dnsList)] }
            return []
        case .not(let inner): return inner.domainLists
        case .and(let lhs, let rhs), .or(let lhs, let rhs): return lhs.domainLists + rhs.domainLists
        default: return []
        }
    }
}
