/// Finds IBANs in UTF-8 text, left to right, without overlaps.
///
/// An IBAN is a country code (two letters), two check digits (02–98) and the BBAN, as many
/// characters in all as the registry gives for the country (`IBANCountry`), written either without
/// spaces (`GB82WEST12345698765432`) or in the print format, one space after every four characters
/// (`GB82 WEST 1234 5698 7654 32`). Letters may be upper or lower case (print uses upper case; mail
/// written by hand does not always). The number must pass MOD 97-10 (ISO 7064) after moving the first
/// four characters to the end. Boundaries: the bytes before and after it are not ASCII letters or
/// digits.
///
/// The search jumps from digit to digit (the check digits): ordinary text is skipped quickly, and
/// each candidate reads at most 34 characters and their spaces.
struct IBANScanner {
    private let input: UnsafeBufferPointer<UInt8>
    private let end: Int
    private var characters: [UInt8] = []

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.end = input.count
        characters.reserveCapacity(34)
    }

    /// Calls `found` with each IBAN (offset and length in bytes) until it returns false.
    mutating func scan(_ found: (DetectorMatch) -> Bool) {
        var index = 0
        while true {
            index = DetectorBytes.nextDigit(input, from: index, end: end)
            guard index < end else { return }
            let start = index - 2
            if start >= 0, start == 0 || !DetectorBytes.isWordByte(input[start - 1]), let length = iban(at: start) {
                guard found(DetectorMatch(offset: start, length: length)) else { return }
                index = start + length
            } else {
                index += 1
            }
        }
    }

    /// The length in bytes of the IBAN starting at `start`, if there is one.
    private mutating func iban(at start: Int) -> Int? {
        guard start + 4 <= end, let length = IBANCountry.ibanLength(input[start], input[start + 1]),
              DetectorBytes.isDigit(input[start + 2]), DetectorBytes.isDigit(input[start + 3]) else { return nil }
        let check = Int(input[start + 2] - UInt8(ascii: "0")) * 10 + Int(input[start + 3] - UInt8(ascii: "0"))
        guard (2...98).contains(check) else { return nil }
        characters.removeAll(keepingCapacity: true)
        for offset in 0..<4 { characters.append(input[start + offset]) }
        var index = start + 4
        let grouped = index < end && input[index] == UInt8(ascii: " ")
        while characters.count < length {
            if grouped, characters.count % 4 == 0 {
                guard index < end, input[index] == UInt8(ascii: " ") else { return nil }
                index += 1
            }
            guard index < end, DetectorBytes.isWordByte(input[index]) else { return nil }
            characters.append(input[index])
            index += 1
        }
        guard index == end || !DetectorBytes.isWordByte(input[index]) else { return nil }
        return DetectorChecksums.mod97IsValid(characters) ? index - start : nil
    }
}
