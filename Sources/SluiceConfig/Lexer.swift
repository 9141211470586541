/// A token of the configuration language.
public struct Token: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A bare word: keywords, names, addresses, sizes (`listen`, `127.0.0.1:25`, `25M`).
        case word(String)
        /// A "double-quoted" string with `\"` and `\\` escapes resolved.
        case string(String)
        /// `/pattern/flags`, taken verbatim (only where a pattern may stand: after `~`).
        case pattern(String, flags: String)
        case symbol(String)
    }

    public var kind: Kind
    public var location: SourceLocation

    public var text: String {
        switch kind {
        case .word(let text), .string(let text), .symbol(let text): return text
        case .pattern(let pattern, let flags): return "/\(pattern)/\(flags)"
        }
    }

    public var word: String? { if case .word(let word) = kind { return word } else { return nil } }
}

/// One logical statement: the tokens of a line and its continuations.
public struct Statement: Hashable, Sendable {
    public var tokens: [Token]
    public var indentation: Int
    public var location: SourceLocation { tokens[0].location }
}

/// Splits a file into statements. One statement per line; a line continues on the next after a
/// trailing `\`, or when the next line is indented more than the statement's first line (except
/// after a block header such as `stage NAME`, whose body is indented). `#` starts a comment outside
/// strings and patterns.
public struct Lexer {
    public static func statements(in text: String, file: String, blockHeaders: Set<String> = ["stage"],
                                  diagnostics: inout [Diagnostic]) -> [Statement] {
        var statements: [Statement] = []
        var current: Statement?
        var continueNext = false
        // "\r\n" is one Character in Swift: a split on "\n" alone would read a CRLF file as one line
        // (and a comment on its first line would swallow the whole file).
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let indentation = line.prefix { $0 == " " || $0 == "\t" }.count
            var (tokens, continues) = tokenize(line, file: file, line: index + 1, diagnostics: &diagnostics)
            if tokens.isEmpty {
                if !continueNext, let finished = current { statements.append(finished); current = nil }
                continueNext = continueNext && continues
                continue
            }
            let isContinuation: Bool
            if continueNext {
                isContinuation = true
            } else if let current, let head = current.tokens.first?.word, !blockHeaders.contains(head),
                      indentation > current.indentation {
                isContinuation = true
            } else {
                isContinuation = false
            }
            if isContinuation, current != nil {
                current!.tokens += tokens
            } else {
                if let finished = current { statements.append(finished) }
                current = Statement(tokens: tokens, indentation: indentation)
                tokens = []
            }
            continueNext = continues
        }
        if let finished = current { statements.append(finished) }
        return statements
    }

    static func tokenize(_ line: Substring, file: String, line number: Int, diagnostics: inout [Diagnostic]) -> ([Token], Bool) {
        var tokens: [Token] = []
        let chars = Array(line)
        var i = 0
        func location(_ column: Int) -> SourceLocation { SourceLocation(file: file, line: number, column: column + 1) }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" { i += 1; continue }
            if c == "#" { break }
            if c == "\\" && chars[(i + 1)...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                return (tokens, true)
            }
            let start = i
            if c == "\"" {
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count, chars[i + 1] == "\"" || chars[i + 1] == "\\" {
                        value.append(chars[i + 1]); i += 2; continue
                    }
                    if chars[i] == "\"" { closed = true; i += 1; break }
                    value.append(chars[i]); i += 1
                }
                if !closed { diagnostics.append(Diagnostic(.error, at: location(start), "unterminated string")) }
                tokens.append(Token(kind: .string(value), location: location(start)))
                continue
            }
            // A pattern stands after `~`, after `pcre` (a `detector`), and as an item of a list: after `{`
            // or `,`, or first on a continuation line (no statement begins with `/`). Inside it, `(`, `)`,
            // `,` and `#` are the pattern's.
            if c == "/", tokens.last.map({ [.symbol("~"), .symbol("{"), .symbol(","), .word("pcre")].contains($0.kind) }) ?? true {
                var pattern = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count { pattern.append(chars[i]); pattern.append(chars[i + 1]); i += 2; continue }
                    if chars[i] == "/" { closed = true; i += 1; break }
                    pattern.append(chars[i]); i += 1
                }
                if !closed { diagnostics.append(Diagnostic(.error, at: location(start), "unterminated pattern (a pattern is /…/flags)")) }
                var flags = ""
                while i < chars.count, chars[i].isLetter { flags.append(chars[i]); i += 1 }
                tokens.append(Token(kind: .pattern(pattern, flags: flags), location: location(start)))
                continue
            }
            if "{},()~=<>!".contains(c) {
                var symbol = String(c)
                if (c == "!" || c == "<" || c == ">"), i + 1 < chars.count, chars[i + 1] == "=" { symbol.append("="); i += 1 }
                tokens.append(Token(kind: .symbol(symbol), location: location(start)))
                i += 1
                continue
            }
            var word = ""
            while i < chars.count, !" \t#\"{},()~=<>!".contains(chars[i]) { word.append(chars[i]); i += 1 }
            // An IPv6 endpoint such as [::1]:25 is one word.
            tokens.append(Token(kind: .word(word), location: location(start)))
        }
        return (tokens, false)
    }
}
