import SluicePolicy
import SluiceSMTP

/// Parses one rule statement of a `stage` block into a `Rule`:
/// `VERB [ARGUMENTS] [CONDITION] ["REPLY"] [tag NAME]... [mode=observe]`.
struct RuleParser {
    static let verbs = ["accept", "reject", "defer", "greylist", "discard", "disconnect", "add", "replace", "remove", "tag", "log", "sign", "bcc", "redirect"]
    static let predicates = ["tls", "auth", "tagged", "not", "header"]

    let tokens: [Token]
    let stage: Stage
    let lists: [String: NamedList]
    /// The built-in detectors and those of `detector` statements, by name.
    var detectors: [String: Detector] = Detector.builtins
    /// The names of the `dkim sign` statements (`sign NAME`).
    var signers: Set<String> = []
    var index = 1
    var diagnostics: [Diagnostic] = []

    init(statement: Statement, stage: Stage, lists: [String: NamedList], signers: Set<String> = [],
         detectors: [String: Detector] = Detector.builtins) {
        self.tokens = statement.tokens
        self.stage = stage
        self.lists = lists
        self.signers = signers
        self.detectors = detectors
    }

    struct Failure: Error {}

    var current: Token? { index < tokens.count ? tokens[index] : nil }

    mutating func fail(_ token: Token?, _ message: String) -> Failure {
        let location = (token ?? tokens.last!).location
        diagnostics.append(Diagnostic(.error, at: location, message))
        return Failure()
    }

    mutating func next(_ what: String) throws(Failure) -> Token {
        guard let token = current else { throw fail(tokens.last, "expected \(what) after '\(tokens.last!.text)'") }
        index += 1
        return token
    }

    mutating func string(_ what: String) throws(Failure) -> String {
        let token = try next(what)
        guard case .string(let text) = token.kind else { throw fail(token, "expected \(what) in double quotes, found '\(token.text)'") }
        return text
    }

    /// A header field name (RFC 5322 ftext: printable ASCII but ':'), `*` and `?` included for globs.
    mutating func headerName(_ what: String) throws(Failure) -> String {
        let token = try next(what)
        guard case .string(let text) = token.kind else { throw fail(token, "expected \(what) in double quotes, found '\(token.text)'") }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }) else {
            throw fail(token, "'\(text)' is not a header field name (printable ASCII without spaces or ':')")
        }
        return text
    }

    /// A header field value: one line (no CR, LF or NUL; Sluice folds nothing itself).
    mutating func headerValue() throws(Failure) -> String {
        let token = try next("a header value")
        guard case .string(let text) = token.kind else { throw fail(token, "expected a header value in double quotes, found '\(token.text)'") }
        guard !text.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else {
            throw fail(token, "a header value cannot contain CR, LF or NUL")
        }
        return text
    }

    mutating func keyword(_ word: String) throws(Failure) {
        let token = try next("'\(word)'")
        guard token.word == word else { throw fail(token, "expected '\(word)', found '\(token.text)'") }
    }

    /// Parses the whole statement; nil (with diagnostics) when it has errors.
    mutating func parse(file: String, text: String) -> Rule? {
        do throws(Failure) {
            let head = tokens[0]
            let verb = head.word ?? head.text
            var action: RuleAction
            switch verb {
            case "add", "replace":
                try keyword("header")
                let name = try headerName("a header name")
                let value = try headerValue()
                action = verb == "add" ? .addHeader(name, value) : .replaceHeader(name, value)
                if stage < .header { throw fail(head, "'\(verb) header' is only possible from stage header on") }
            case "remove":
                try keyword("header")
                action = .removeHeader(try headerName("a header name or glob"))
                if stage < .header { throw fail(head, "'remove header' is only possible from stage header on") }
            case "tag":
                let token = try next("a tag name")
                guard let name = token.word else { throw fail(token, "expected a tag name, found '\(token.text)'") }
                action = .tag(name)
            case "sign":
                let token = try next("the name of a 'dkim sign' statement")
                guard let name = token.word, signers.contains(name) else {
                    throw fail(token, "no 'dkim sign \(token.text) …' statement\(Suggestion.hint(for: token.text, among: Array(signers)))")
                }
                if stage < .mail { throw fail(head, "'sign' is only possible from stage mail on") }
                action = .tag(RuleAction.signingTag(name))
            case "log": action = .log(try string("a log text"))
            case "bcc", "redirect":
                let token = try next("an address in double quotes")
                guard case .string(let text) = token.kind, !text.contains(">"),
                      case .rcpt(let path, _)? = try? CommandParser.parse(Array("RCPT TO:<\(text)>".utf8)), path.mailbox != nil else {
                    throw fail(token, "expected a mailbox in double quotes (\"archive@example.com\"), found '\(token.text)'")
                }
                guard stage >= .header else { throw fail(head, "'\(verb)' is only possible in stage header, body or eom (it is decided with the message)") }
                action = verb == "bcc" ? .addRecipient(path) : .redirect(path)
            case "accept": action = .accept
            case "discard": action = .discard
            case "greylist":
                guard stage == .rcpt || stage == .data else { throw fail(head, "greylist is only possible in stage rcpt or data") }
                action = .greylist
            case "reject", "defer", "disconnect": action = .accept // replaced below once the reply is read
            default:
                throw fail(head, "unknown verb '\(verb)'\(Suggestion.hint(for: verb, among: Self.verbs))")
            }
            var condition: Condition?
            if let token = current, !isReplyOrOption(token) {
                condition = try expression()
            }
            if ["reject", "defer", "disconnect"].contains(verb) {
                action = try replyAction(verb, head)
            }
            var tags: [String] = []
            var observe = false
            while let token = current {
                if token.word == "tag" {
                    index += 1
                    let name = try next("a tag name")
                    guard let tag = name.word else { throw fail(name, "expected a tag name") }
                    tags.append(tag)
                } else if token.word == "mode" {
                    index += 1
                    let equals = try next("'='")
                    guard equals.kind == .symbol("=") else { throw fail(equals, "write mode=observe") }
                    let mode = try next("a mode")
                    guard mode.word == "observe" || mode.word == "enforce" else {
                        throw fail(mode, "unknown mode '\(mode.text)' (use observe or enforce)")
                    }
                    observe = mode.word == "observe"
                } else if case .string = token.kind {
                    throw fail(token, "'\(verb)' takes no reply text")
                } else {
                    throw fail(token, "unexpected '\(token.text)'")
                }
            }
            return Rule(stage: stage, action: action, condition: condition, tags: tags, observe: observe,
                        location: RuleLocation(file: file, line: head.location.line), text: text)
        } catch {
            return nil
        }
    }

    func isReplyOrOption(_ token: Token) -> Bool {
        if case .string = token.kind { return true }
        return token.word == "tag" || token.word == "mode"
    }

    mutating func replyAction(_ verb: String, _ head: Token) throws(Failure) -> RuleAction {
        guard let token = current, case .string(let text) = token.kind else {
            if verb == "disconnect" { return .disconnect(SMTPReply(code: 421, enhanced: "4.7.0", "Closing connection")) }
            throw fail(current ?? head, "'\(verb)' needs a reply text, e.g. \"\(verb == "defer" ? "450 4.7.1" : "550 5.7.1") Not accepted\"")
        }
        index += 1
        let parts = text.split(separator: " ", maxSplits: 1)
        guard let codeText = parts.first, codeText.count == 3, let code = Int(codeText), (400...599).contains(code) else {
            throw fail(token, "a reply text starts with a 4xx or 5xx code: \"550 5.7.1 …\"")
        }
        switch verb {
        case "reject" where code < 500: throw fail(token, "reject needs a 5xx reply, not \(code) (use defer for 4xx)")
        case "defer" where code >= 500: throw fail(token, "defer needs a 4xx reply, not \(code) (use reject for 5xx)")
        default: break
        }
        var rest = parts.count > 1 ? String(parts[1]) : ""
        let first = rest.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        let enhanced: String
        if Self.isEnhancedCode(first) {
            guard first.first == codeText.first else {
                throw fail(token, "enhanced code \(first) does not match the reply class \(code)")
            }
            enhanced = first
            rest = String(rest.dropFirst(first.count).drop { $0 == " " })
        } else {
            enhanced = Self.defaultEnhancedCode(for: code)
        }
        let reply = SMTPReply(code: code, enhanced: enhanced, rest.isEmpty ? "Not accepted" : rest)
        switch verb {
        case "reject": return .reject(reply)
        case "defer": return .tempfail(reply)
        default: return .disconnect(reply)
        }
    }

    static func isEnhancedCode(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].count == 1 && "245".contains(parts[0])
            && parts.dropFirst().allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isNumber) }
    }

    /// X.7.1 (policy) for most replies; 552 is a size refusal (5.3.4); 421 is 4.7.0.
    static func defaultEnhancedCode(for code: Int) -> String {
        switch code {
        case 552: return "5.3.4"
        case 452: return "4.5.3"
        case 421: return "4.7.0"
        default: return code >= 500 ? "5.7.1" : "4.7.1"
        }
    }

    // MARK: Conditions: or > and > not > predicate

    mutating func expression() throws(Failure) -> Condition {
        var lhs = try conjunction()
        while current?.word == "or" {
            index += 1
            lhs = .or(lhs, try conjunction())
        }
        return lhs
    }

    mutating func conjunction() throws(Failure) -> Condition {
        var lhs = try negation()
        while current?.word == "and" {
            index += 1
            lhs = .and(lhs, try negation())
        }
        return lhs
    }

    mutating func negation() throws(Failure) -> Condition {
        if current?.word == "not" {
            index += 1
            return .not(try negation())
        }
        if current?.kind == .symbol("(") {
            index += 1
            let inner = try expression()
            let close = try next("')'")
            guard close.kind == .symbol(")") else { throw fail(close, "expected ')', found '\(close.text)'") }
            return inner
        }
        return try predicate()
    }

    mutating func predicate() throws(Failure) -> Condition {
        let token = try next("a condition")
        switch token.word {
        case "tls": return .tls
        case "auth": return .auth
        case "tagged":
            let name = try next("a tag name")
            guard let tag = name.word else { throw fail(name, "expected a tag name") }
            return .tagged(tag)
        case "attachment.encrypted":
            try requireContentStage(token, "attachment.encrypted")
            return .attachmentEncrypted
        case "count" where current?.kind == .symbol("("):
            return try detectorCount(token)
        case "body" where current?.word == "has", "attachment" where current?.word == "has":
            try requireContentStage(token, token.text)
            index += 1
            return .detects(token.word == "body" ? .body : .attachment, try detector())
        default: break
        }
        let field: Field
        if token.word == "header" {
            field = .header(try string("a header name").lowercased())
        } else if token.word == "header.raw" {
            field = .headerRaw(try string("a header name").lowercased())
        } else if token.word == "part.header" {
            field = .partHeader(try string("a header name").lowercased())
        } else if let word = token.word, let known = Field.names[word] {
            field = known
        } else {
            let candidates = Array(Field.names.keys) + Field.headerFieldWords + ["tls", "auth", "tagged", "not", "count", "attachment.encrypted"]
            throw fail(token, "unknown field '\(token.text)'\(Suggestion.hint(for: token.text, among: candidates))")
        }
        guard field.isAvailable(in: stage) else {
            let name = field.description.split(separator: " ").first.map(String.init) ?? "\(field)"
            throw fail(token, "\(name) is not available in stage \(stage.rawValue)")
        }
        let op = try next("an operator (~, in, not in, =)")
        switch (op.kind, op.word) {
        case (.symbol("~"), _):
            guard !field.isNumeric else { throw fail(op, "\(field) is a number: compare it with > < >= <= =") }
            let patternToken = try next("a /pattern/")
            guard case .pattern(let source, let flags) = patternToken.kind else {
                throw fail(patternToken, "expected a /pattern/flags after '~'")
            }
            do {
                return .matches(field, try Pattern(source, flags: flags))
            } catch {
                var location = patternToken.location
                location.column += 1 + error.offset
                diagnostics.append(Diagnostic(.error, at: location, "bad pattern: \(error.message)"))
                throw Failure()
            }
        case (_, "in"):
            return .inList(field, try listReference())
        case (_, "not"):
            try keyword("in")
            return .not(.inList(field, try listReference()))
        case (.symbol(let symbol), _) where field.isNumeric && [">", "<", ">=", "<=", "="].contains(symbol):
            let value = try next("a number")
            guard let number = Quantity.size(value.text) else { throw fail(value, "'\(value.text)' is not a number or size") }
            return .compare(field, Condition.Comparison(rawValue: symbol)!, number)
        case (.symbol("="), _), (.symbol("!="), _):
            if let word = current?.word, let other = Field.names[word], !other.isNumeric {
                // FIELD = FIELD, e.g. sender.domain = auth.domain
                let token = try next("a field")
                guard other.isAvailable(in: stage) else { throw fail(token, "\(word) is not available in stage \(stage.rawValue)") }
                let test = Condition.sameAs(field, other)
                return op.kind == .symbol("=") ? test : .not(test)
            }
            if let allowed = field.resultValues {
                // spf = fail: a bare word (or a quoted one), one of the results.
                let token = try next("a result (\(allowed.joined(separator: " ")))")
                let text: String
                switch token.kind {
                case .string(let quoted): text = quoted
                default: text = token.word ?? token.text
                }
                guard allowed.contains(text.lowercased()) else {
                    throw fail(token, "\(field) is one of \(allowed.joined(separator: ", ")), not '\(text)'\(Suggestion.hint(for: text, among: allowed))")
                }
                let test = Condition.equals(field, text.lowercased())
                return op.kind == .symbol("=") ? test : .not(test)
            }
            var value = try string("a value")
            if field == .senderDomain || field == .rcptDomain { value = Normalize.domain(value) }
            let test = Condition.equals(field, value)
            return op.kind == .symbol("=") ? test : .not(test)
        default:
            throw fail(op, "expected ~, in, not in or = after \(field), found '\(op.text)'")
        }
    }

    /// `body has NAME`, `count(NAME)`: content facts, known from stage body on.
    mutating func requireContentStage(_ token: Token, _ what: String) throws(Failure) {
        guard stage == .body || stage == .eom else { throw fail(token, "\(what) is not available in stage \(stage.rawValue)") }
    }

    mutating func detector() throws(Failure) -> Detector {
        let token = try next("a detector name")
        guard let name = token.word, let detector = detectors[name] else {
            throw fail(token, "unknown detector '\(token.text)'\(Suggestion.hint(for: token.text, among: Array(detectors.keys)))")
        }
        return detector
    }

    /// `count(NAME) OP N`.
    mutating func detectorCount(_ head: Token) throws(Failure) -> Condition {
        try requireContentStage(head, "count(…)")
        index += 1 // (
        let detector = try detector()
        let close = try next("')'")
        guard close.kind == .symbol(")") else { throw fail(close, "expected ')', found '\(close.text)'") }
        let op = try next("a comparison (> < >= <= =)")
        guard case .symbol(let symbol) = op.kind, let comparison = Condition.Comparison(rawValue: symbol) else {
            throw fail(op, "expected > < >= <= or = after count(\(detector.name)), found '\(op.text)'")
        }
        let value = try next("a number")
        guard let number = Int(value.text), number >= 0 else { throw fail(value, "'\(value.text)' is not a number") }
        return .detectorCount(detector, comparison, number)
    }

    mutating func listReference() throws(Failure) -> NamedList {
        let token = try next("a list name")
        guard let name = token.word else { throw fail(token, "expected a list name") }
        guard let list = lists[name] else {
            throw fail(token, "unknown list '\(name)'\(Suggestion.hint(for: name, among: Array(lists.keys)))")
        }
        return list
    }
}
