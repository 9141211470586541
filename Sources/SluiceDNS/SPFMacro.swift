import SluicePolicy

/// An SPF macro-string (RFC 7208 §7): literal text and `%{letter digits r delimiters}` macros, parsed
/// once with the record and expanded per check.
public struct SPFMacroString: Sendable, Hashable, CustomStringConvertible {
    enum Piece: Sendable, Hashable {
        case literal(String)
        /// `letter` lower-cased; `escape` when it was written upper-case (the expansion is URL-encoded).
        case macro(letter: Character, escape: Bool, keep: Int?, reverse: Bool, delimiters: Set<Character>)
    }

    let pieces: [Piece]
    public let description: String

    /// Parses `text`; nil on a syntax error. `explanation`: the text of an `exp=` record, where spaces
    /// and the `c`, `r`, `t` macros are allowed.
    public init?(_ text: String, explanation: Bool = false) {
        let letters: Set<Character> = explanation ? ["s", "l", "o", "d", "i", "p", "h", "v", "c", "r", "t"]
                                                  : ["s", "l", "o", "d", "i", "p", "h", "v"]
        var pieces: [Piece] = []
        var literal = ""
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            guard let ascii = character.asciiValue, (explanation && ascii == 0x20) || (0x21...0x7E).contains(ascii) else { return nil }
            guard character == "%" else { literal.append(character); continue }
            switch characters.popFirst() {
            case "%": literal += "%"
            case "_": literal += " "
            case "-": literal += "%20"
            case "{":
                guard let close = characters.firstIndex(of: "}") else { return nil }
                let body = characters[characters.startIndex..<close]
                characters = characters[(close + 1)...]
                guard let first = body.first, letters.contains(Character(first.lowercased())) else { return nil }
                var rest = body.dropFirst()
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(digits.count)
                var keep: Int?
                if !digits.isEmpty {
                    guard let value = Int(String(digits.prefix(6))), value > 0 else { return nil }
                    keep = value
                }
                var reverse = false
                if rest.first == "r" || rest.first == "R" { reverse = true; rest = rest.dropFirst() }
                guard rest.allSatisfy(".-+,/_=".contains) else { return nil }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.macro(letter: Character(first.lowercased()), escape: first.isUppercase, keep: keep,
                                     reverse: reverse, delimiters: rest.isEmpty ? ["."] : Set(rest)))
            default:
                return nil
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
        self.description = text
    }

    /// Whether the string ends with a macro (a domain-spec may then end any way it likes).
    var endsWithMacro: Bool {
        if case .macro = pieces.last { return true }
        return false
    }

    /// The literal text at the end (for the domain-end check), or nil when it ends with a macro.
    var literalTail: String? {
        if case .literal(let text) = pieces.last { return text }
        return nil
    }

    /// The expansion, with `value(letter)` giving each macro letter's value.
    func expand(_ value: (Character) async -> String) async -> String {
        var output = ""
        for piece in pieces {
            switch piece {
            case .literal(let text):
                output += text
            case .macro(let letter, let escape, let keep, let reverse, let delimiters):
                var parts = (await value(letter)).split(omittingEmptySubsequences: false) { delimiters.contains($0) }.map(String.init)
                if reverse { parts.reverse() }
                if let keep, keep < parts.count { parts = Array(parts.suffix(keep)) }
                let joined = parts.joined(separator: ".")
                output += escape ? Self.urlEscaped(joined) : joined
            }
        }
        return output
    }

    /// RFC 3986 escaping of everything outside the unreserved set (§7.3: upper-case macro letters).
    static func urlEscaped(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "-._~".unicodeScalars.contains(scalar) {
                output.unicodeScalars.append(scalar)
            } else {
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The values of the macro letters for one check (§7.3).
struct SPFMacroValues: Sendable {
    var sender: String
    var domain: String
    var ip: IPAddress
    var helo: String
    var receiver: String
    var now: Int

    var localPart: String {
        guard let at = sender.lastIndex(of: "@") else { return "postmaster" }
        let local = String(sender[..<at])
        return local.isEmpty ? "postmaster" : local
    }

    var senderDomain: String {
        guard let at = sender.lastIndex(of: "@") else { return sender }
        return String(sender[sender.index(after: at)...])
    }

    /// `i`: dotted IPv4, or IPv6 as 32 dot-separated nibbles.
    var dottedIP: String {
        switch ip {
        case .v4: return ip.description
        case .v6: return ip.reversedLabels.split(separator: ".").reversed().joined(separator: ".")
        }
    }
}
