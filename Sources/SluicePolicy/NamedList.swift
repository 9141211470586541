/// A named list, compiled at load: `list trusted cidr { 127.0.0.0/8, ::1/128 }`.
public struct NamedList: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case cidr, domain, address, pcre, dnsbl
    }

    public enum Items: Sendable {
        case cidr([CIDR])
        /// Lower-cased domains without a trailing dot; an entry `.example.com` matches its subdomains.
        case domain(exact: Set<String>, suffixes: [String])
        /// Lower-cased addresses; an entry `@example.com` matches every address at that domain.
        case address(exact: Set<String>, domains: Set<String>)
        case pcre([Pattern])
        /// Looked up in the DNS at connect: its answer is a fact (`client in zen`).
        case dnsbl(DNSList)
    }

    public let name: String
    public let items: Items

    public init(name: String, items: Items) {
        self.name = name
        self.items = items
    }

    public var kind: Kind {
        switch items {
        case .cidr: return .cidr
        case .domain: return .domain
        case .address: return .address
        case .pcre: return .pcre
        case .dnsbl: return .dnsbl
        }
    }

    /// Whether `value` (an address, domain or IP as text) is in the list.
    public func contains(_ value: String) throws(Pattern.MatchLimitExceeded) -> Bool {
        switch items {
        case .cidr(let networks):
            guard let address = IPAddress(value) else { return false }
            return networks.contains { $0.contains(address) }
        case .domain(let exact, let suffixes):
            let domain = Normalize.domain(value)
            return exact.contains(domain) || suffixes.contains { domain.hasSuffix($0) }
        case .address(let exact, let domains):
            let address = value.lowercased()
            if exact.contains(address) { return true }
            guard let at = address.lastIndex(of: "@") else { return false }
            return domains.contains(Normalize.domain(String(address[address.index(after: at)...])))
        case .pcre(let patterns):
            for pattern in patterns where try pattern.matches(value) { return true }
            return false
        case .dnsbl:
            return false // a fact of the session, read by the condition
        }
    }
}

public enum Normalize {
    /// Lower-cased, without a trailing dot, IDN labels in their A-label (`xn--`) form.
    public static func domain(_ text: String) -> String {
        var domain = Punycode.aLabels(text.lowercased())
        while domain.hasSuffix(".") { domain.removeLast() }
        return domain
    }
}
