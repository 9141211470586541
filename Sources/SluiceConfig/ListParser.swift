import Foundation
import SluicePolicy

/// `list NAME TYPE { item, item }` or `list NAME TYPE file "path"`: parsed and compiled at load.
struct ListParser {
    static func parse(_ statement: Statement, file: String, diagnostics: inout [Diagnostic]) -> NamedList? {
        let tokens = statement.tokens
        func error(_ token: Token, _ message: String) { diagnostics.append(Diagnostic(.error, at: token.location, message)) }
        guard tokens.count >= 3, let name = tokens[1].word else {
            error(tokens[0], "write 'list NAME TYPE { items }' or 'list NAME TYPE file \"path\"'")
            return nil
        }
        guard let typeWord = tokens[2].word, let kind = NamedList.Kind(rawValue: typeWord) else {
            let kinds = NamedList.Kind.allCases.map(\.rawValue)
            error(tokens[2], "unknown list type '\(tokens[2].text)'\(Suggestion.hint(for: tokens[2].text, among: kinds)) (use \(kinds.joined(separator: ", ")))")
            return nil
        }
        var items: [(String, SourceLocation)] = []
        var rest = Array(tokens.dropFirst(3))
        var dnsList: DNSList?
        if kind == .dnsbl {
            // `list NAME dnsbl "ZONE" [weight N] [{ CODE, FROM-TO, ... }]`
            guard case .string(let zone)? = rest.first?.kind, !zone.isEmpty, !zone.contains(" ") else {
                error(tokens[2], "write 'list \(name) dnsbl \"zone.example\" [weight N] [{ 127.0.0.2, 127.0.0.4-127.0.0.7 }]'")
                return nil
            }
            rest.removeFirst()
            var weight = 1
            if rest.first?.word == "weight" {
                guard rest.count >= 2, let value = Int(rest[1].text), value >= 0 else {
                    error(rest[0], "'weight' needs a whole number")
                    return nil
                }
                weight = value
                rest.removeFirst(2)
            }
            dnsList = DNSList(name: name, zone: zone, weight: weight)
            if rest.isEmpty { return NamedList(name: name, items: .dnsbl(dnsList!)) }
        }
        if rest.first?.kind == .symbol("{") {
            guard rest.last?.kind == .symbol("}") else {
                error(rest[0], "list '\(name)' has no closing '}'")
                return nil
            }
            var expectItem = true
            for token in rest.dropFirst().dropLast() {
                if token.kind == .symbol(",") {
                    if expectItem { error(token, "empty item in list '\(name)'") }
                    expectItem = true
                    continue
                }
                if !expectItem { error(token, "missing ',' before '\(token.text)'") }
                items.append((token.text, token.location))
                expectItem = false
            }
        } else if rest.first?.word == "file", rest.count == 2, case .string(let path) = rest[1].kind {
            let resolved = path.hasPrefix("/") ? path : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path)
            guard let text = try? String(contentsOfFile: resolved, encoding: .utf8) else {
                error(rest[1], "cannot read list file '\(resolved)'")
                return nil
            }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var item = Substring(line)
                if let hash = item.firstIndex(of: "#"), kind != .pcre || item.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                    item = item[..<hash]
                }
                let trimmed = item.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty else { continue }
                items.append((trimmed, SourceLocation(file: resolved, line: number + 1, column: 1)))
            }
        } else {
            error(tokens[2], "list '\(name)' needs '{ items }' or 'file \"path\"' after its type")
            return nil
        }
        if var dnsList {
            for (item, location) in items {
                let ends = item.split(separator: "-", maxSplits: 1).map { IPAddress(String($0)) }
                guard ends.count >= 1, case .v4(let from)? = ends[0], case .v4(let to)? = ends.last ?? nil, from <= to else {
                    diagnostics.append(Diagnostic(.error, at: location, "'\(item)' is not an answer code (write 127.0.0.2, or a range 127.0.0.4-127.0.0.7)"))
                    continue
                }
                dnsList.codes.append(from...to)
            }
            return NamedList(name: name, items: .dnsbl(dnsList))
        }
        return compile(name: name, kind: kind, items: items, diagnostics: &diagnostics)
    }

    static func compile(name: String, kind: NamedList.Kind, items: [(String, SourceLocation)], diagnostics: inout [Diagnostic]) -> NamedList? {
        var failed = false
        func error(_ location: SourceLocation, _ message: String) {
            diagnostics.append(Diagnostic(.error, at: location, message))
            failed = true
        }
        switch kind {
        case .dnsbl:
            return nil // parsed in `parse` (it has a zone and a weight)
        case .cidr:
            var networks: [CIDR] = []
            for (item, location) in items {
                if let network = CIDR(item) { networks.append(network) } else { error(location, "'\(item)' is not an address or network (CIDR)") }
            }
            return failed ? nil : NamedList(name: name, items: .cidr(networks))
        case .domain:
            var exact: Set<String> = [], suffixes: [String] = []
            for (item, _) in items {
                let domain = Normalize.domain(item)
                if domain.hasPrefix(".") { suffixes.append(domain) } else { exact.insert(domain) }
            }
            return NamedList(name: name, items: .domain(exact: exact, suffixes: suffixes))
        case .address:
            var exact: Set<String> = [], domains: Set<String> = []
            for (item, location) in items {
                let address = item.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
                if address.hasPrefix("@") {
                    domains.insert(Normalize.domain(String(address.dropFirst())))
                } else if address.contains("@") {
                    exact.insert(address)
                } else {
                    error(location, "'\(item)' is not an address (write user@domain, or @domain for a whole domain)")
                }
            }
            return failed ? nil : NamedList(name: name, items: .address(exact: exact, domains: domains))
        case .pcre:
            var patterns: [Pattern] = []
            for (item, location) in items {
                guard item.hasPrefix("/"), let close = item.lastIndex(of: "/"), close > item.startIndex else {
                    error(location, "'\(item)' is not a pattern (write /regex/flags)")
                    continue
                }
                let source = String(item[item.index(after: item.startIndex)..<close])
                let flags = String(item[item.index(after: close)...])
                do {
                    patterns.append(try Pattern(source, flags: flags))
                } catch {
                    var at = location
                    at.column += 1 + error.offset
                    diagnostics.append(Diagnostic(.error, at: at, "bad pattern: \(error.message)"))
                    failed = true
                }
            }
            return failed ? nil : NamedList(name: name, items: .pcre(patterns))
        }
    }
}
