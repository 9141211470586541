/// The check-digit algorithms the detectors validate with.
enum DetectorChecksums {
    /// Luhn (ISO/IEC 7812-1) over decimal digit values, most significant first.
    static func luhnIsValid<Digits: BidirectionalCollection>(_ digits: Digits) -> Bool where Digits.Element == UInt8 {
        var sum = 0
        var doubles = false
        for digit in digits.reversed() {
            var value = Int(digit)
            if doubles {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
            doubles.toggle()
        }
        return sum % 10 == 0
    }

    /// ISO 7064 MOD 97-10 as IBANs use it: the first four characters moved to the end, letters read as
    /// 10 (A) to 35 (Z), and the number modulo 97 must be 1. `characters` are ASCII letters (either
    /// case) and digits only, and more than four of them.
    static func mod97IsValid(_ characters: [UInt8]) -> Bool {
        guard characters.count > 4 else { return false }
        var remainder = 0
        for index in 4..<(characters.count + 4) {
            let byte = characters[index < characters.count ? index : index - characters.count]
            if DetectorBytes.isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - UInt8(ascii: "0"))) % 97
            } else {
                remainder = (remainder * 100 + Int((byte | 0x20) - UInt8(ascii: "a")) + 10) % 97
            }
        }
        return remainder == 1
    }
}
