import NIOConcurrencyHelpers
import NIOCore
import SluiceDNS
import SluicePolicy

/// What the DNS says the client's name is: forward-confirmed reverse DNS (FCrDNS). The PTR names of the
/// address (at most 10), each looked up forward (A for IPv4, AAAA for IPv6); the first whose addresses
/// include the client's is `verified`. `unverified` is the first PTR name, confirmed or not.
struct ClientNames: Hashable, Sendable {
    /// The forward-confirmed name; "" when there is none (no PTR, or none confirms).
    var verified: String?
    var unverified: String?
    /// A lookup failed for now (SERVFAIL, a timeout): the names are unknown, not absent.
    var failed = false

    static let unknown = ClientNames(verified: nil, unverified: nil)
}

enum ClientNameLookup {
    static let maximumNames = 10

    /// `4.3.2.1.in-addr.arpa`, or the 32 nibbles of an IPv6 address under `ip6.arpa`.
    static func reverseName(_ ip: IPAddress) -> String {
        if case .v4 = ip { return ip.reversedLabels + ".in-addr.arpa" }
        return ip.reversedLabels + ".ip6.arpa"
    }

    /// Looks `ip`'s names up; `completion` runs once, on the resolver's thread.
    static func lookUp(_ ip: IPAddress, resolver: DNSResolver, completion: @escaping @Sendable (ClientNames) -> Void) {
        resolver.lookup(reverseName(ip), .ptr) { result in
            switch result {
            case .answer(let records, _):
                let names = Array(records.compactMap(RecordData.name).filter { !$0.isEmpty }.prefix(maximumNames))
                guard !names.isEmpty else { return completion(ClientNames(verified: "", unverified: nil)) }
                confirm(names, ip, resolver: resolver, completion: completion)
            case .nxdomain, .noData:
                completion(ClientNames(verified: "", unverified: nil))
            case .serverFailure, .timedOut, .failed:
                completion(ClientNames(verified: nil, unverified: nil, failed: true))
            }
        }
    }

    /// The forward lookups of every PTR name, together; the answer once the last is in.
    private static func confirm(_ names: [String], _ ip: IPAddress, resolver: DNSResolver,
                                completion: @escaping @Sendable (ClientNames) -> Void) {
        let type: RecordType
        if case .v4 = ip { type = .a } else { type = .aaaa }
        let answers = NIOLockedValueBox<[Int: DNSResult]>([:])
        for (index, name) in names.enumerated() {
            resolver.lookup(name, type) { result in
                let all = answers.withLockedValue { answers -> [Int: DNSResult]? in
                    answers[index] = result
                    return answers.count == names.count ? answers : nil
                }
                guard let all else { return }
                var temporaryFailure = false
                for index in names.indices {
                    guard let result = all[index] else { continue }
                    if case .answer(let records, _) = result, records.contains(where: { RecordData.address($0) == ip }) {
                        return completion(ClientNames(verified: names[index], unverified: names[0]))
                    }
                    if result.isTemporaryFailure { temporaryFailure = true }
                }
                completion(ClientNames(verified: temporaryFailure ? nil : "", unverified: names[0], failed: temporaryFailure))
            }
        }
    }
}
