import SluicePolicy

/// An SPF record (RFC 7208 §4.6, §12) parsed whole before anything is evaluated: a syntax error
/// anywhere is a `permerror`, with no term evaluated.
public struct SPFRecord: Sendable, Hashable {
    public enum Qualifier: Character, Sendable, Hashable {
        case pass = "+", fail = "-", softfail = "~", neutral = "?"

        public var result: SPFResult {
            switch self {
            case .pass: return .pass
            case .fail: return .fail
            case .softfail: return .softfail
            case .neutral: return .neutral
            }
        }
    }

    public enum Mechanism: Sendable, Hashable {
        case all
        case include(SPFMacroString)
        /// `a` and `mx`: the domain-spec (nil: the current domain) and the two prefix lengths.
        case a(SPFMacroString?, v4: Int, v6: Int)
        case mx(SPFMacroString?, v4: Int, v6: Int)
        case ptr(SPFMacroString?)
        case ip(CIDR)
        case exists(SPFMacroString)

        /// Whether evaluating it queries DNS (it counts toward the limit of 10, §4.6.4).
        var queriesDNS: Bool {
            switch self {
            case .all, .ip: return false
            case .include, .a, .mx, .ptr, .exists: return true
            }
        }
    }

    public struct Directive: Sendable, Hashable {
        public let qualifier: Qualifier
        public let mechanism: Mechanism
        /// The term as written (for `Received-SPF`'s mechanism).
        public let text: String
    }

    public let directives: [Directive]
    public let redirect: SPFMacroString?
    public let explanation: SPFMacroString?

    /// Whether `text` is an SPF version 1 record: `v=spf1` alone or followed by a space (§4.5).
    public static func isVersion1(_ text: String) -> Bool {
        let prefix = text.prefix(6).lowercased()
        guard prefix == "v=spf1" else { return false }
        let rest = text.dropFirst(6)
        return rest.isEmpty || rest.first == " "
    }

    /// Parses a record that `isVersion1`; the error says which term is wrong.
    public init(parsing text: String) throws(SPFSyntaxError) {
        guard text.unicodeScalars.allSatisfy({ $0.isASCII }) else { throw SPFSyntaxError("the record is not 7-bit ASCII") }
        var directives: [Directive] = []
        var redirect: SPFMacroString?
        var explanation: SPFMacroString?
        for term in text.dropFirst(6).split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            if let (name, value) = Self.modifier(term) {
                switch name {
                case "redirect", "exp":
                    guard let spec = Self.domainSpec(value) else { throw SPFSyntaxError("bad domain in '\(term)'") }
                    if name == "redirect" {
                        guard redirect == nil else { throw SPFSyntaxError("redirect= given twice") }
                        redirect = spec
                    } else {
                        guard explanation == nil else { throw SPFSyntaxError("exp= given twice") }
                        explanation = spec
                    }
                default:
                    guard SPFMacroString(value) != nil || value.isEmpty else { throw SPFSyntaxError("bad modifier '\(term)'") }
                }
                continue
            }
            directives.append(try Self.directive(term))
        }
        self.directives = directives
        self.redirect = redirect
        self.explanation = explanation
    }

    /// `name=value` when `term` is a modifier (§4.6.1: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )).
    private static func modifier(_ term: String) -> (String, String)? {
        guard let equals = term.firstIndex(of: "=") else { return nil }
        let name = term[..<equals]
        guard let first = name.first, first.isASCII, first.isLetter,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else { return nil }
        return (name.lowercased(), String(term[term.index(after: equals)...]))
    }

    private static func directive(_ term: String) throws(SPFSyntaxError) -> Directive {
        var body = Substring(term)
        var qualifier = Qualifier.pass
        if let first = body.first, let given = Qualifier(rawValue: first) {
            qualifier = given
            body = body.dropFirst()
        }
        let nameEnd = body.firstIndex { $0 == ":" || $0 == "/" } ?? body.endIndex
        let name = body[..<nameEnd].lowercased()
        var argument = body[nameEnd...]
        let hasColon = argument.first == ":"
        if hasColon { argument = argument.dropFirst() }
        let bad = SPFSyntaxError("bad term '\(term)'")
        let mechanism: Mechanism
        switch name {
        case "all":
            guard argument.isEmpty, !hasColon else { throw bad }
            mechanism = .all
        case "include", "exists":
            guard hasColon, let spec = domainSpec(String(argument)) else { throw bad }
            mechanism = name == "include" ? .include(spec) : .exists(spec)
        case "a", "mx":
            guard let (rest, v4, v6) = dualCIDR(argument) else { throw bad }
            var spec: SPFMacroString?
            if hasColon {
                guard let parsed = domainSpec(String(rest)) else { throw bad }
                spec = parsed
            } else if !rest.isEmpty {
                throw bad
            }
            mechanism = name == "a" ? .a(spec, v4: v4, v6: v6) : .mx(spec, v4: v4, v6: v6)
        case "ptr":
            var spec: SPFMacroString?
            if hasColon {
                guard let parsed = domainSpec(String(argument)) else { throw bad }
                spec = parsed
            } else if !argument.isEmpty {
                throw bad
            }
            mechanism = .ptr(spec)
        case "ip4", "ip6":
            guard hasColon, let network = ipNetwork(argument, v6: name == "ip6") else { throw bad }
            mechanism = .ip(network)
        default:
            throw SPFSyntaxError("unknown mechanism '\(term)'")
        }
        return Directive(qualifier: qualifier, mechanism: mechanism, text: term)
    }

    /// A domain-spec (§7.1): a macro-string ending with a macro or with "." toplabel ["."].
    static func domainSpec(_ text: String) -> SPFMacroString? {
        guard !text.isEmpty, let spec = SPFMacroString(text) else { return nil }
        if spec.endsWithMacro { return spec }
        guard var tail = spec.literalTail else { return nil }
        if tail.hasSuffix(".") { tail.removeLast() }
        guard let dot = tail.lastIndex(of: "."), isTopLabel(tail[tail.index(after: dot)...]) else {
            // The whole tail may be the top label after a macro ("%{d}.com" ends ".com"; "%{d}com" does not).
            return nil
        }
        return spec
    }

    /// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
    static func isTopLabel(_ label: Substring) -> Bool {
        guard let first = label.first, let last = label.last,
              label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return false }
        if label.contains("-") { return first != "-" && last != "-" }
        return label.contains { $0.isLetter }
    }

    /// The `/v4` and `//v6` prefix lengths at the end of an `a` or `mx` argument (§5.6).
    private static func dualCIDR(_ text: Substring) -> (Substring, Int, Int)? {
        var rest = text
        var v4 = 32, v6 = 128
        if let range = rest.range(of: "//", options: .backwards) {
            let digits = rest[range.upperBound...]
            if digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let value = prefixLength(digits, maximum: 128) else { return nil }
                v6 = value
                rest = rest[..<range.lowerBound]
            }
        }
        if let slash = rest.lastIndex(of: "/") {
            let digits = rest[rest.index(after: slash)...]
            if digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let value = prefixLength(digits, maximum: 32) else { return nil }
                v4 = value
                rest = rest[..<slash]
            }
        }
        return (rest, v4, v6)
    }

    /// A prefix length: decimal, no leading zero (except "0" itself), at most `maximum`.
    private static func prefixLength(_ digits: Substring, maximum: Int) -> Int? {
        guard !digits.isEmpty, digits.count <= 3, digits == "0" || digits.first != "0",
              let value = Int(digits), value <= maximum else { return nil }
        return value
    }

    private static func ipNetwork(_ text: Substring, v6: Bool) -> CIDR? {
        var address = text
        var prefix: Int?
        if let slash = text.lastIndex(of: "/") {
            guard let value = prefixLength(text[text.index(after: slash)...], maximum: v6 ? 128 : 32) else { return nil }
            prefix = value
            address = text[..<slash]
        }
        guard address.contains(":") == v6, let ip = IPAddress(String(address)) else { return nil }
        if v6, case .v4 = ip {
            // An IPv4-mapped network compares as IPv4.
            return CIDR(address: ip, prefix: max(0, (prefix ?? 128) - 96))
        }
        if !v6 {
            // Dotted quad only: four decimal parts.
            guard address.split(separator: ".", omittingEmptySubsequences: false).count == 4 else { return nil }
        }
        return CIDR(address: ip, prefix: prefix ?? (v6 ? 128 : 32))
    }
}

/// What is wrong with a record (the `permerror`'s reason).
public struct SPFSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// SPF records parsed once by their text (`ParsedRecordCache`).
enum SPFRecordCache {
    private static let cache = ParsedRecordCache<Result<SPFRecord, SPFSyntaxError>>()

    static func record(_ text: String) -> Result<SPFRecord, SPFSyntaxError> {
        cache.value(text) { text in
            do throws(SPFSyntaxError) { return .success(try SPFRecord(parsing: text)) } catch { return .failure(error) }
        }
    }
}
