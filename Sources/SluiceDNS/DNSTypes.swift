import SluicePolicy

/// The record types Sluice asks for.
public enum RecordType: Int32, Sendable, Hashable {
    case a = 1, ns = 2, cname = 5, ptr = 12, mx = 15, txt = 16, aaaa = 28
}

/// What a lookup found. Every failure is a value: a DNS failure is never a silent pass or reject.
public enum DNSResult: Sendable, Hashable {
    /// The records' data (rdata in wire form) and the answer's TTL.
    case answer([[UInt8]], ttl: Int)
    /// The name exists, but has no record of that type (NODATA).
    case noData
    /// The name does not exist.
    case nxdomain
    /// The server failed (SERVFAIL, REFUSED…: the rcode), or DNSSEC said bogus.
    case serverFailure(Int)
    /// No answer within the lookup's timeout (the query was cancelled).
    case timedOut
    /// The resolver could not even ask (a libunbound error).
    case failed(String)

    /// A temporary failure (the fact is unknown now, not false).
    public var isTemporaryFailure: Bool {
        switch self {
        case .serverFailure, .timedOut, .failed: return true
        case .answer, .noData, .nxdomain: return false
        }
    }
}

/// Decoders for the record data Sluice reads.
public enum RecordData {
    /// An A or AAAA record's address (an IPv4-mapped AAAA is IPv4, as the client address would be).
    public static func address(_ data: [UInt8]) -> IPAddress? {
        if let text = ipv4(data) { return IPAddress(text) }
        guard let bytes = ipv6(data) else { return nil }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if high == 0, low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
        return .v6(high, low)
    }

    /// An A record's address, dotted.
    public static func ipv4(_ data: [UInt8]) -> String? {
        guard data.count == 4 else { return nil }
        return data.map(String.init).joined(separator: ".")
    }

    /// An AAAA record's 16 octets.
    public static func ipv6(_ data: [UInt8]) -> [UInt8]? {
        data.count == 16 ? data : nil
    }

    /// A domain name in wire form (as in PTR, CNAME, NS rdata; uncompressed in libunbound's answers),
    /// without the trailing dot, lower case.
    public static func name(_ data: [UInt8]) -> String? {
        var labels: [String] = []
        var index = 0
        while index < data.count {
            let length = Int(data[index])
            if length == 0 { return labels.joined(separator: ".").lowercased() }
            guard length < 64, index + 1 + length <= data.count else { return nil }
            labels.append(String(decoding: data[(index + 1)...(index + length)], as: UTF8.self))
            index += 1 + length
        }
        return nil
    }

    /// An MX record's exchange name (the preference is not needed: SPF and Sluice look at every one).
    public static func mailExchanger(_ data: [UInt8]) -> String? {
        data.count > 2 ? name(Array(data[2...])) : nil
    }

    /// A TXT record's character-strings, joined (as SPF and DKIM read them).
    public static func text(_ data: [UInt8]) -> String? {
        var output: [UInt8] = []
        var index = 0
        while index < data.count {
            let length = Int(data[index])
            guard index + 1 + length <= data.count else { return nil }
            output += data[(index + 1)..<(index + 1 + length)]
            index += 1 + length
        }
        return String(decoding: output, as: UTF8.self)
    }
}
