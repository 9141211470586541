/// A compliance detector: finds things such as card numbers in decoded text, each finding validated so
/// that a long order number is not a card number. The built-in ones (`card-number`, `iban`) know their
/// formats; a `detector NAME pcre /…/ validate luhn|mod97|none` statement pairs a pattern with a check.
public struct Detector: Sendable, CustomStringConvertible {
    enum Method: Sendable {
        case builtin(BuiltinDetector)
        case pattern(Pattern, DetectorValidation)
    }

    public let name: String
    let method: Method

    /// A user-defined detector: each match of `pattern` that `validation` accepts is one finding.
    public init(name: String, pattern: Pattern, validation: DetectorValidation) {
        self.name = name
        self.method = .pattern(pattern, validation)
    }

    init(builtin: BuiltinDetector) {
        self.name = builtin.name
        self.method = .builtin(builtin)
    }

    /// The detectors every configuration has.
    public static let builtins: [String: Detector] = [
        BuiltinDetector.cardNumber.name: Detector(builtin: .cardNumber),
        BuiltinDetector.iban.name: Detector(builtin: .iban),
    ]

    /// Findings in `text` (non-overlapping), up to `limit`: a rule compares counts, and a text with a
    /// million numbers need not be counted to the end.
    public func count(in text: String, limit: Int = 10_000) throws(Pattern.MatchLimitExceeded) -> Int {
        var text = text
        let result: Result<Int, Pattern.MatchLimitExceeded> = text.withUTF8 { utf8 in
            Result { () throws(Pattern.MatchLimitExceeded) -> Int in try count(in: UnsafeRawBufferPointer(utf8), limit: limit) }
        }
        return try result.get()
    }

    /// Findings in UTF-8 `bytes`.
    public func count(in bytes: UnsafeRawBufferPointer, limit: Int = 10_000) throws(Pattern.MatchLimitExceeded) -> Int {
        switch method {
        case .builtin(let builtin):
            return min(builtin.count(in: bytes), limit)
        case .pattern(let pattern, let validation):
            var found = 0
            try pattern.forEachMatch(in: bytes) { range in
                let candidate = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                if validation.accepts(candidate) { found += 1 }
                return found < limit
            }
            return found
        }
    }

    public var description: String {
        switch method {
        case .builtin: return name
        case .pattern(let pattern, let validation): return "\(name) pcre \(pattern) validate \(validation.rawValue)"
        }
    }
}
