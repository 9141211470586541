import Foundation
import SluicePolicy
import SluiceSMTP

/// Reads a configuration file and its includes into a `Configuration`, collecting every error of
/// every file in one pass. A configuration with any error is refused whole.
public struct ConfigurationLoader {
    public static let settings = ["listen", "upstream", "hostname", "spool-dir", "threads", "include", "limit",
                                  "timeout", "bare-line-endings", "shutdown-grace", "list", "stage", "relay-hygiene",
                                  "acknowledge", "greylist", "tls", "auth-plaintext", "metrics", "log", "user", "pid-file", "xclient", "dns", "dkim", "detector"] + RuleParser.verbs
    public static let limitNames = ["message-size", "recipients", "idle-timeout", "errors", "line-length",
                                    "command-line-length", "memory-spool", "body-inspection", "header-size", "mime-parts", "mime-depth",
                                    "attachment-scan", "archive-members", "tls-required",
                                    "command-time", "data-rate", "connections", "connections-per-client", "connection-rate",
                                    "client-grouping", "messages-per-session", "greet-delay", "exempt"]
    public static let timeoutNames = ["upstream-connect", "upstream-command", "upstream-data"]

    var configuration = Configuration()
    var diagnostics: [Diagnostic] = []
    private var includeDepth = 0
    private var currentStage: Stage?
    private var pendingRules: [(Statement, Stage, String)] = []
    private var relayHygiene = true
    /// `limit exempt LIST`, resolved when every list is known.
    var exemptList: Token?
    /// `xclient from LIST`, resolved when every list is known.
    var xclientList: Token?
    /// `listen … proxy-protocol from LIST`, resolved when every list is known.
    private var proxyLists: [Endpoint: Token] = [:]

    /// Loads `path`; throws `ConfigurationError` with all diagnostics when there is any error.
    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        var loader = ConfigurationLoader()
        loader.loadFile(path, from: nil)
        return try loader.finish()
    }

    /// Loads configuration text (tests, `sluice check -`); includes resolve relative to `file`'s folder.
    public static func load(text: String, file: String) throws(ConfigurationError) -> Configuration {
        var loader = ConfigurationLoader()
        loader.loadText(text, file: file)
        return try loader.finish()
    }

    private mutating func finish() throws(ConfigurationError) -> Configuration {
        compileRules()
        if diagnostics.contains(where: { $0.severity == .error }) { throw ConfigurationError(diagnostics: diagnostics) }
        var configuration = configuration
        configuration.warnings = diagnostics
        return configuration
    }

    private mutating func loadFile(_ path: String, from location: SourceLocation?) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            let where_ = location ?? SourceLocation(file: path, line: 1, column: 1)
            diagnostics.append(Diagnostic(.error, at: where_, "cannot read '\(path)'"))
            return
        }
        loadText(text, file: path)
    }

    private mutating func loadText(_ text: String, file: String) {
        currentStage = nil // a stage block ends with its file
        configuration.files.append(file)
        for statement in Lexer.statements(in: text, file: file, diagnostics: &diagnostics) {
            apply(statement, file: file)
        }
    }

    mutating func error(_ token: Token, _ message: String) {
        diagnostics.append(Diagnostic(.error, at: token.location, message))
    }

    private mutating func apply(_ statement: Statement, file: String) {
        let head = statement.tokens[0]
        guard let keyword = head.word else { return error(head, "expected a setting, found '\(head.text)'") }
        let arguments = Array(statement.tokens.dropFirst())
        func one(_ what: String) -> Token? {
            guard let first = arguments.first else {
                error(head, "'\(keyword)' needs \(what)")
                return nil
            }
            if arguments.count > 1 { error(arguments[1], "unexpected '\(arguments[1].text)' after \(what)") }
            return first
        }
        if keyword == "greylist", currentStage == nil
            || (statement.tokens.count > 1 && GreylistSettingsParser.names.contains(statement.tokens[1].text)) {
            return GreylistSettingsParser.apply(statement, file: file, to: &configuration, diagnostics: &diagnostics)
        }
        // `log format text|json` is a setting anywhere; `log "TEXT"` is a rule.
        if keyword == "log", statement.tokens.count > 1, statement.tokens[1].word == "format" {
            return applyOperations(head, Array(statement.tokens.dropFirst()))
        }
        if RuleParser.verbs.contains(keyword), keyword != "tag" || currentStage != nil {
            guard let stage = currentStage else {
                return error(head, "rule '\(keyword)' outside a stage (write 'stage NAME' first)")
            }
            pendingRules.append((statement, stage, file))
            return
        }
        switch keyword {
        case "stage":
            guard let token = one("a stage name") else { return }
            guard let stage = Stage(rawValue: token.text) else {
                let names = Stage.allCases.map(\.rawValue)
                return error(token, "unknown stage '\(token.text)'\(Suggestion.hint(for: token.text, among: names)) (stages: \(names.joined(separator: ", ")))")
            }
            currentStage = stage
        case "list":
            if let list = ListParser.parse(statement, file: file, diagnostics: &diagnostics) {
                if configuration.lists[list.name] != nil { return error(statement.tokens[1], "list '\(list.name)' is defined twice") }
                configuration.lists[list.name] = list
            }
        case "relay-hygiene":
            guard let token = one("on or off") else { return }
            guard token.text == "on" || token.text == "off" else { return error(token, "relay-hygiene is 'on' or 'off'") }
            relayHygiene = token.text == "on"
        case "acknowledge":
            guard let token = one("open-relay") else { return }
            guard token.text == "open-relay" else { return error(token, "only 'acknowledge open-relay' is known") }
            configuration.openRelayAcknowledged = true
        case "listen":
            guard let token = arguments.first else { return error(head, "'listen' needs HOST:PORT") }
            do {
                let endpoint = try Endpoint(parsing: token.text)
                configuration.listen.append(endpoint)
                var options = arguments.dropFirst().makeIterator()
                while let option = options.next() {
                    switch option.text {
                    case "tls": configuration.implicitTLS.insert(endpoint)
                    case "tls-required": configuration.tlsRequiredOn.insert(endpoint)
                    case "proxy-protocol":
                        // `proxy-protocol from LIST`: a cidr list of the balancers, resolved later.
                        guard let from = options.next(), from.text == "from", let list = options.next() else {
                            return error(option, "write 'proxy-protocol from LIST' (a cidr list of the load balancers)")
                        }
                        proxyLists[endpoint] = list
                    default: error(option, "unknown listen option '\(option.text)' (use tls, tls-required, proxy-protocol from LIST)")
                    }
                }
            } catch {
                self.error(token, "\(error)")
            }
        case "tls":
            applyTLS(head, arguments, file: file)
        case "auth-plaintext":
            guard let token = one("allow or deny") else { return }
            guard token.text == "allow" || token.text == "deny" else { return error(token, "auth-plaintext is 'allow' or 'deny'") }
            configuration.allowPlaintextAuth = token.text == "allow"
        case "upstream":
            guard let token = arguments.first else { return error(head, "'upstream' needs HOST:PORT") }
            do {
                configuration.upstream = try Endpoint(parsing: token.text)
            } catch {
                self.error(token, "\(error)")
            }
            var index = 1
            while index < arguments.count {
                let option = arguments[index]
                switch option.text {
                case "starttls", "starttls-required", "tls": configuration.upstreamTLS.mode = option.text
                case "xclient":
                    guard index + 1 < arguments.count, ["on", "off"].contains(arguments[index + 1].text) else {
                        return error(option, "write 'xclient on' or 'xclient off'")
                    }
                    configuration.upstreamXCLIENT = arguments[index + 1].text == "on"
                    index += 1
                case "verify": configuration.upstreamTLS.verify = true
                case "no-verify": configuration.upstreamTLS.verify = false
                case "ca", "name":
                    guard index + 1 < arguments.count else { return error(option, "'\(option.text)' needs a value") }
                    let value = arguments[index + 1]
                    if option.text == "ca" {
                        let path = resolve(value.text, relativeTo: file)
                        guard FileManager.default.isReadableFile(atPath: path) else { return error(value, "cannot read '\(path)'") }
                        configuration.upstreamTLS.caFile = path
                    } else {
                        configuration.upstreamTLS.serverName = value.text
                    }
                    index += 1
                default:
                    error(option, "unknown upstream option '\(option.text)' (use starttls, starttls-required, tls, verify, no-verify, ca FILE, name NAME, xclient on|off)")
                }
                index += 1
            }
        case "hostname":
            guard let token = one("a host name") else { return }
            configuration.hostname = token.text
        case "spool-dir":
            guard let token = one("a directory") else { return }
            configuration.spoolDirectory = resolve(token.text, relativeTo: file)
        case "threads":
            guard let token = one("a number of threads") else { return }
            guard let value = Int(token.text), (1...256).contains(value) else { return error(token, "threads must be 1 to 256") }
            configuration.threads = value
        case "shutdown-grace":
            guard let token = one("a duration") else { return }
            guard let value = Quantity.duration(token.text) else { return error(token, "bad duration '\(token.text)' (use 30s, 5m, 1h)") }
            configuration.shutdownGrace = value
        case "bare-line-endings":
            guard let token = one("reject or normalize") else { return }
            guard let policy = BareLineEndingPolicy(rawValue: token.text) else {
                return error(token, "bare-line-endings is 'reject' or 'normalize', not '\(token.text)'")
            }
            configuration.bareLineEndings = policy
        case "include":
            guard let token = one("a file name or glob in quotes") else { return }
            include(token, from: file)
        case "limit":
            applyLimit(head, arguments)
        case "timeout":
            applyTimeout(head, arguments)
        case "metrics", "log", "user", "pid-file", "xclient", "dns":
            applyOperations(head, arguments)
        case "dkim":
            applyDKIM(head, arguments, file: file)
        case "detector":
            applyDetector(head, arguments)
        default:
            if currentStage != nil {
                error(head, "unknown verb '\(keyword)'\(Suggestion.hint(for: keyword, among: RuleParser.verbs))")
            } else {
                error(head, "unknown setting '\(keyword)'\(Suggestion.hint(for: keyword, among: Self.settings))")
            }
        }
    }

    /// `dkim sign NAME domain "D" selector "S" key "FILE" [headers "from:to:subject"]`: the key file must
    /// be readable now (its contents are checked when the server starts, with this line's place).
    private mutating func applyDKIM(_ head: Token, _ arguments: [Token], file: String) {
        let usage = "write 'dkim sign NAME domain \"example.com\" selector \"s1\" key \"FILE\" [algorithm rsa-sha256|ed25519-sha256] [headers \"from:to:subject\"]'"
        guard arguments.count >= 2, arguments[0].text == "sign", let name = arguments[1].word else { return error(head, usage) }
        guard configuration.dkimSigners[name] == nil else { return error(arguments[1], "dkim sign '\(name)' is defined twice") }
        var domain: String?, selector: String?, key: String?, headers: [String]?, algorithm: String?
        var index = 2
        while index < arguments.count {
            let word = arguments[index]
            guard index + 1 < arguments.count else { return error(word, "'\(word.text)' needs a value") }
            let value = arguments[index + 1]
            switch word.text {
            case "domain":
                guard value.text.contains("."), value.text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) }) else {
                    return error(value, "'\(value.text)' is not a domain name")
                }
                domain = value.text.lowercased()
            case "selector":
                guard !value.text.isEmpty, value.text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                    return error(value, "'\(value.text)' is not a selector (letters, digits, '-', '.', '_')")
                }
                selector = value.text
            case "key":
                let path = resolve(value.text, relativeTo: file)
                guard FileManager.default.isReadableFile(atPath: path) else { return error(value, "cannot read '\(path)'") }
                key = path
            case "algorithm":
                guard ["rsa-sha256", "ed25519-sha256"].contains(value.text) else {
                    return error(value, "algorithm is rsa-sha256 or ed25519-sha256, not '\(value.text)'")
                }
                algorithm = value.text
            case "headers":
                let names = value.text.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard names.contains("from"), names.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 > 32 && $0 < 127 } }) else {
                    return error(value, "headers is a colon-separated list of field names that includes from")
                }
                headers = names
            default:
                return error(word, "unknown dkim sign option '\(word.text)' (\(usage))")
            }
            index += 2
        }
        guard let domain, let selector, let key else { return error(head, usage) }
        var signing = DKIMSigning(name: name, domain: domain, selector: selector, keyFile: key, headers: headers, location: head.location)
        signing.algorithm = algorithm
        configuration.dkimSigners[name] = signing
    }

    /// `tls certificate FILE key FILE [ciphers "LIST"]`: the files must be readable now.
    private mutating func applyTLS(_ head: Token, _ arguments: [Token], file: String) {
        var certificate: String?, key: String?, ciphers: String?
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            guard index + 1 < arguments.count else { return error(word, "'\(word.text)' needs a value") }
            let value = arguments[index + 1]
            switch word.text {
            case "certificate": certificate = resolve(value.text, relativeTo: file)
            case "key": key = resolve(value.text, relativeTo: file)
            case "ciphers": ciphers = value.text
            default: return error(word, "unknown tls option '\(word.text)' (use certificate FILE key FILE [ciphers \"LIST\"])")
            }
            for path in [certificate, key].compactMap({ $0 }) where word.text != "ciphers" && !FileManager.default.isReadableFile(atPath: path) {
                return error(value, "cannot read '\(path)'")
            }
            index += 2
        }
        guard let certificate, let key else { return error(head, "write 'tls certificate FILE key FILE'") }
        configuration.tls = TLSSettings(certificate: certificate, key: key, ciphers: ciphers)
    }

    /// Compiles the collected rules once every list is known, then looks for rules that can never fire
    /// and for a configuration without relay control.
    /// A cidr list by name, or an error at `token`.
    private mutating func networks(_ token: Token, for setting: String) -> [CIDR]? {
        guard let list = configuration.lists[token.text] else {
            error(token, "unknown list '\(token.text)'\(Suggestion.hint(for: token.text, among: Array(configuration.lists.keys)))")
            return nil
        }
        guard case .cidr(let networks) = list.items else {
            error(token, "\(setting) needs a cidr list; '\(token.text)' is a \(list.kind.rawValue) list")
            return nil
        }
        return networks
    }

    private mutating func compileRules() {
        // In the order the file gives them (a dictionary has none): diagnostics come out in line order.
        for (endpoint, token) in proxyLists.sorted(by: { ($0.value.location.file, $0.value.location.line) < ($1.value.location.file, $1.value.location.line) }) {
            if let networks = networks(token, for: "proxy-protocol from") { configuration.proxyProtocol[endpoint] = networks }
        }
        if let token = xclientList, let networks = networks(token, for: "xclient from") {
            configuration.xclientFrom = networks
        }
        if let token = exemptList {
            if token.text == "none" {
                configuration.exempt = []
            } else if let networks = networks(token, for: "limit exempt") {
                configuration.exempt = networks
            }
        }
        var rules: [Rule] = []
        for (statement, stage, file) in pendingRules {
            var parser = RuleParser(statement: statement, stage: stage, lists: configuration.lists,
                                    signers: Set(configuration.dkimSigners.keys), detectors: configuration.detectors)
            let text = statement.tokens.map { token -> String in
                if case .string(let value) = token.kind { return "\"\(value)\"" }
                return token.text
            }.joined(separator: " ")
            if let rule = parser.parse(file: file, text: text) { rules.append(rule) }
            diagnostics += parser.diagnostics
        }
        let dnsLists = configuration.lists.values.compactMap { list -> DNSList? in
            if case .dnsbl(let dnsList) = list.items { return dnsList }
            return nil
        }
        configuration.ruleSet = RuleSet(rules: rules, relayHygiene: relayHygiene, definedDNSLists: dnsLists)
        guard !diagnostics.contains(where: { $0.severity == .error }) else { return }
        for stage in Stage.allCases {
            var shadowedBy: Rule?
            for rule in rules where rule.stage == stage {
                if let earlier = shadowedBy {
                    diagnostics.append(Diagnostic(.warning, at: SourceLocation(file: rule.location.file, line: rule.location.line, column: 1),
                                                  "this rule can never fire: the unconditional '\(earlier.action.verb)' at \(earlier.location) ends stage \(stage.rawValue) first"))
                    break
                }
                if rule.condition == nil, rule.action.isTerminal, !rule.observe { shadowedBy = rule }
            }
        }
        let controlsRelay = rules.contains { rule in
            rule.stage == .rcpt && !rule.observe && { if case .reject = rule.action { return true }; if case .tempfail = rule.action { return true }; return false }()
                && (rule.condition?.fields.contains { $0 == .rcpt || $0 == .rcptDomain } ?? false)
        }
        if !controlsRelay, !configuration.openRelayAcknowledged, let file = configuration.files.first {
            diagnostics.append(Diagnostic(.warning, at: SourceLocation(file: file, line: 1, column: 1),
                                          "no relay control: no rule in stage rcpt rejects by rcpt or rcpt.domain, so Sluice relays for any domain the upstream accepts (write 'acknowledge open-relay' if that is intended)"))
        }
    }

    private mutating func include(_ token: Token, from file: String) {
        guard includeDepth < 16 else { return error(token, "includes nested too deeply (a loop?)") }
        let pattern = resolve(token.text, relativeTo: file)
        let matches = Glob.expand(pattern)
        if matches.isEmpty && !Glob.hasWildcard(pattern) {
            return error(token, "cannot read '\(pattern)'")
        }
        includeDepth += 1
        for path in matches { loadFile(path, from: token.location) }
        includeDepth -= 1
    }

    private func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? path : directory + "/" + path
    }
}

/// File-name globs for `include`, sorted.
enum Glob {
    static func hasWildcard(_ pattern: String) -> Bool { pattern.contains { "*?[".contains($0) } }

    static func expand(_ pattern: String) -> [String] {
        guard hasWildcard(pattern) else {
            return FileManager.default.fileExists(atPath: pattern) ? [pattern] : []
        }
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
