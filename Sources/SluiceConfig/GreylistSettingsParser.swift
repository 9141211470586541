import Foundation
import SluicePolicy

/// `greylist SETTING VALUE…` statements (outside a stage; inside one, `greylist` is the rule verb).
enum GreylistSettingsParser {
    static let names = ["delay", "retry-window", "expire", "auto-allow", "network", "mode", "on-error", "store", "timeout",
                        "text", "subaddress"]

    static func apply(_ statement: Statement, file: String, to configuration: inout Configuration, diagnostics: inout [Diagnostic]) {
        let tokens = statement.tokens
        func error(_ token: Token, _ message: String) { diagnostics.append(Diagnostic(.error, at: token.location, message)) }
        guard tokens.count >= 3, let name = tokens[1].word else {
            return error(tokens[0], "write 'greylist SETTING VALUE' (SETTING is one of \(names.joined(separator: ", "))), or use greylist as a rule inside stage rcpt or data")
        }
        let value = tokens[2]
        func duration() -> Int64? {
            guard let seconds = Quantity.duration(value.text), seconds >= 0 else {
                error(value, "bad duration '\(value.text)' (use 30s, 5m, 48h, 35d)")
                return nil
            }
            return Int64(seconds)
        }
        switch name {
        case "delay": if let v = duration() { configuration.greylist.delay = v }
        case "retry-window": if let v = duration() { configuration.greylist.retryWindow = v }
        case "expire": if let v = duration() { configuration.greylist.expire = v }
        case "timeout": if let v = Quantity.duration(value.text), v > 0 { configuration.greylist.storeTimeout = v } else { error(value, "bad duration '\(value.text)'") }
        case "auto-allow":
            guard let count = Int(value.text), count >= 0 else { return error(value, "auto-allow is a number of passes (0 turns it off)") }
            configuration.greylist.autoAllow = count
        case "network":
            guard tokens.count == 4, let v4 = Int(value.text.dropFirst()), value.text.hasPrefix("/"), (0...32).contains(v4),
                  tokens[3].text.hasPrefix("/"), let v6 = Int(tokens[3].text.dropFirst()), (0...128).contains(v6)
            else { return error(value, "write 'greylist network /24 /64' (IPv4 prefix, then IPv6 prefix)") }
            configuration.greylist.ipv4Prefix = v4
            configuration.greylist.ipv6Prefix = v6
        case "mode":
            guard let mode = GreylistSettings.Mode(rawValue: value.text) else { return error(value, "greylist mode is 'per-recipient' or 'per-message'") }
            configuration.greylist.mode = mode
        case "on-error":
            guard let onError = GreylistSettings.OnError(rawValue: value.text) else { return error(value, "greylist on-error is 'pass' or 'tempfail'") }
            configuration.greylist.onError = onError
        case "subaddress":
            guard value.text == "strip" || value.text == "keep" else { return error(value, "greylist subaddress is 'strip' (user+tag@ counts as user@) or 'keep'") }
            configuration.greylist.normalizeSubaddress = value.text == "strip"
        case "text":
            guard case .string(let text) = value.kind else { return error(value, "greylist text needs a \"quoted text\" (%s: seconds to wait)") }
            configuration.greylist.text = text
        case "store":
            guard tokens.count == 4, case .string(let location) = tokens[3].kind else {
                return error(value, "write 'greylist store sqlite \"PATH\"' or 'greylist store postgres \"URL\"'")
            }
            switch value.text {
            case "sqlite":
                let path = location.hasPrefix("/") ? location : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(location)
                configuration.greylistStore = .sqlite(path)
            case "postgres", "postgresql":
                guard location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") || location.contains("=") else {
                    return error(tokens[3], "a PostgreSQL store needs a URL (postgres://user@host:port/db) or a libpq connection string")
                }
                configuration.greylistStore = .postgres(location)
            default:
                error(value, "unknown greylist store '\(value.text)' (use sqlite or postgres)")
            }
        default:
            error(tokens[1], "unknown greylist setting '\(name)'\(Suggestion.hint(for: name, among: names))")
        }
    }
}
