/// The check a user-defined detector applies to each match of its pattern
/// (`detector NAME pcre /…/ validate luhn|mod97|none`).
///
/// (`none` is a case name: where a `DetectorValidation?` is compared, write `DetectorValidation.none`,
/// not `.none`, which is `Optional.none`.)
public enum DetectorValidation: String, Sendable, Hashable, CaseIterable {
    /// Luhn over the candidate's digits; spaces and dashes are ignored, any other character rejects
    /// it, and at least 2 digits are needed.
    case luhn
    /// ISO 7064 MOD 97-10 as IBANs use it: the first four characters moved to the end, letters (either
    /// case) read as 10–35, the number modulo 97 is 1. Spaces and dashes are ignored, any other
    /// character rejects it, and at least 5 letters or digits are needed.
    case mod97
    /// Every match is a finding.
    case none

    /// Whether `candidate` passes the check.
    public func accepts(_ candidate: String) -> Bool { check(candidate.utf8) }

    /// Whether `candidate` passes the check.
    public func accepts(_ candidate: Substring) -> Bool { check(candidate.utf8) }

    /// Whether the UTF-8 `candidate` passes the check.
    public func accepts(_ candidate: UnsafeRawBufferPointer) -> Bool { check(candidate) }

    private func check<Bytes: Sequence>(_ candidate: Bytes) -> Bool where Bytes.Element == UInt8 {
        switch self {
        case .none:
            return true
        case .luhn:
            var digits: [UInt8] = []
            for byte in candidate where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "-") {
                guard DetectorBytes.isDigit(byte) else { return false }
                digits.append(byte - UInt8(ascii: "0"))
            }
            return digits.count >= 2 && DetectorChecksums.luhnIsValid(digits)
        case .mod97:
            var characters: [UInt8] = []
            for byte in candidate where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "-") {
                guard DetectorBytes.isWordByte(byte) else { return false }
                characters.append(byte)
            }
            return characters.count >= 5 && DetectorChecksums.mod97IsValid(characters)
        }
    }
}
