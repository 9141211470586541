import FuzzSupport
@testable import SluicePolicy

// The built-in detectors (`card-number`, `iban`) and DetectorValidation, on any octets. Internal
// helpers (CardIssuer, IBANCountry) through the debug build's @testable import.
//
// Input: byte 0 is the `count` limit (0...255); byte 1 picks how the constructed numbers are written;
// the rest is the text (any octets, malformed UTF-8 included).
//
// Properties, for each detector:
// - it never traps; matches lie inside the text, are not empty, do not overlap and come in order;
//   count(in:) == matches.count and count(in:limit:) == min(limit, matches.count) (0 for limit 0);
//   forEachMatch stops when asked (the first k matches, then none); first(in:) is the first match.
// - the String entry points (on the text read as a String) give the same match texts, counts and first
//   match as the byte entry points on that String's UTF-8.
// - a match, scanned again on its own, is exactly one match of itself.
// - the bytes before and after a match are not ASCII letters or digits.
// - card-number (CardNumberScanner's documentation, CardIssuer's table): a match is digits in groups
//   joined by single spaces or single dashes of one kind; with more than one group each has at least
//   3 digits; 13-19 digits in all (the table's Maestro 12 is never a candidate); Luhn-valid
//   (DetectorValidation.luhn.accepts) and in an issuer range of that length; not after `digit.` nor
//   before `.digit`; never starting or ending at a dash that joins it to another group.
// - iban (IBANScanner's documentation): country code with an IBAN length in the registry, check digits
//   02-98, exactly that many letters and digits, written without spaces or with one space after every
//   four characters; MOD 97-10 valid (DetectorValidation.mod97.accepts).
// - constructed numbers are found: a Visa number (`4`, 14 digits from the input, its Luhn digit) and
//   an IBAN (a registry country, a BBAN from the input in either case, its check digits), each written
//   plain or grouped, between spaces, are exactly one match.
// - DetectorValidation: accepts(String), accepts(Substring) and accepts(bytes) agree on the text
//   and on every match; luhn and mod97 reject text with anything but letters/digits, spaces, dashes.

func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
func isWord(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }

func matches(_ detector: BuiltinDetector, _ bytes: [UInt8]) -> [DetectorMatch] {
    bytes.withUnsafeBytes { detector.matches(in: $0) }
}

func accepts(_ validation: DetectorValidation, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { validation.accepts($0) }
}

func checkValidation(_ bytes: [UInt8], _ context: @autoclosure () -> String) {
    let string = String(decoding: bytes, as: UTF8.self)
    let utf8 = Array(string.utf8)
    let padded = "x" + string + "y"
    let substring = padded.dropFirst().dropLast()
    for validation in DetectorValidation.allCases {
        let byBytes = accepts(validation, utf8)
        check(validation.accepts(string) == byBytes && validation.accepts(substring) == byBytes,
              "\(validation).accepts differs between String, Substring and bytes on \(hex(utf8)) \(context())")
        if validation != .none && byBytes {
            check(utf8.allSatisfy { isWord($0) || $0 == 0x20 || $0 == 0x2D },
                  "\(validation) accepts \(hex(utf8)), which has other characters \(context())")
        }
    }
}

func checkCard(_ text: [UInt8], _ match: DetectorMatch, _ context: String) {
    let bytes = Array(text[match.range])
    check(isDigit(bytes.first!) && isDigit(bytes.last!), "a card number \(hex(bytes)) not starting and ending with a digit \(context)")
    var groups: [[UInt8]] = [[]]
    var separators = Set<UInt8>()
    for byte in bytes {
        if isDigit(byte) {
            groups[groups.count - 1].append(byte)
        } else {
            check(byte == 0x20 || byte == 0x2D, "a card number \(hex(bytes)) with \(hex([byte])) \(context)")
            check(!groups[groups.count - 1].isEmpty, "a card number \(hex(bytes)) with a doubled separator \(context)")
            separators.insert(byte)
            groups.append([])
        }
    }
    check(separators.count <= 1, "a card number \(hex(bytes)) with mixed separators \(context)")
    if groups.count > 1 {
        check(groups.allSatisfy { $0.count >= 3 }, "a card number \(hex(bytes)) with a group under 3 digits \(context)")
    }
    let digits = groups.flatMap { $0 }
    check((13...19).contains(digits.count), "a card number of \(digits.count) digits: \(hex(bytes)) \(context)")
    check(accepts(.luhn, bytes), "a card number \(hex(bytes)) DetectorValidation.luhn rejects \(context)")
    check(CardIssuer.issuer(of: digits.map { $0 - 0x30 }) != nil, "a card number \(hex(bytes)) of no issuer \(context)")
    let start = match.offset, end = match.offset + match.length
    if start >= 2 {
        check(!(text[start - 1] == 0x2E && isDigit(text[start - 2])), "a card number \(hex(bytes)) after `digit.` \(context)")
        check(!(text[start - 1] == 0x2D && isDigit(text[start - 2])),
              "a card number \(hex(bytes)) starting at a dash that joins it to a group \(context)")
    }
    if end + 1 < text.count {
        check(!(text[end] == 0x2E && isDigit(text[end + 1])), "a card number \(hex(bytes)) before `.digit` \(context)")
        check(!(text[end] == 0x2D && isDigit(text[end + 1])),
              "a card number \(hex(bytes)) ending at a dash that joins it to a group \(context)")
    }
}

func checkIBAN(_ text: [UInt8], _ match: DetectorMatch, _ context: String) {
    let bytes = Array(text[match.range])
    let characters = bytes.filter { $0 != 0x20 }
    check(characters.allSatisfy(isWord), "an IBAN \(hex(bytes)) with other characters \(context)")
    check(characters.count >= 4, "an IBAN \(hex(bytes)) of \(characters.count) characters \(context)")
    guard characters.count >= 4 else { return }
    let length = IBANCountry.ibanLength(characters[0], characters[1])
    check(length == characters.count, "an IBAN \(hex(bytes)) of \(characters.count) characters, registry \(String(describing: length)) \(context)")
    check(isDigit(characters[2]) && isDigit(characters[3]), "an IBAN \(hex(bytes)) without check digits \(context)")
    let check2 = Int(characters[2] &- 0x30) * 10 + Int(characters[3] &- 0x30)
    check((2...98).contains(check2), "an IBAN \(hex(bytes)) with check digits \(check2) \(context)")
    if bytes.contains(0x20) {
        // Print format: a space after every four characters, none at the end.
        var expected: [UInt8] = []
        for (i, c) in characters.enumerated() {
            if i > 0 && i % 4 == 0 { expected.append(0x20) }
            expected.append(c)
        }
        check(bytes == expected, "an IBAN \(hex(bytes)) not in the print format \(context)")
    }
    check(accepts(.mod97, bytes), "an IBAN \(hex(bytes)) DetectorValidation.mod97 rejects \(context)")
}

func checkDetector(_ detector: BuiltinDetector, _ text: [UInt8], limit: Int) {
    let context = "(\(detector)) in \(hex(text))"
    let found = matches(detector, text)
    var previousEnd = 0
    for match in found {
        check(match.length > 0 && match.offset >= previousEnd && match.offset + match.length <= text.count,
              "match \(match) after \(previousEnd), text of \(text.count) octets: \(found) \(context)")
        previousEnd = match.offset + match.length
        if match.offset > 0 { check(!isWord(text[match.offset - 1]), "match \(match) after a letter or digit \(context)") }
        if previousEnd < text.count { check(!isWord(text[previousEnd]), "match \(match) before a letter or digit \(context)") }
        if detector == .cardNumber { checkCard(text, match, context) } else { checkIBAN(text, match, context) }
        let alone = Array(text[match.range])
        check(matches(detector, alone) == [DetectorMatch(offset: 0, length: alone.count)],
              "match \(match) \(hex(alone)) on its own gives \(matches(detector, alone)) \(context)")
        checkValidation(alone, context)
    }
    text.withUnsafeBytes { buffer in
        let total = detector.count(in: buffer)
        check(total == found.count, "count \(total), \(found.count) matches \(context)")
        let limited = detector.count(in: buffer, limit: limit)
        check(limited == min(limit, found.count), "count with limit \(limit) is \(limited), \(found.count) matches \(context)")
        check(detector.first(in: buffer) == found.first, "first \(String(describing: detector.first(in: buffer))), matches \(found) \(context)")
        check(detector.isFound(in: buffer) == !found.isEmpty, "isFound with \(found.count) matches \(context)")
        // Stopping after k matches.
        let k = found.isEmpty ? 1 : limit % (found.count + 1) + 1
        var seen: [DetectorMatch] = []
        detector.forEachMatch(in: buffer) { seen.append($0); return seen.count < k }
        check(seen == Array(found.prefix(k)), "forEachMatch stopping after \(k): \(seen), matches \(found) \(context)")
    }

    // The String entry points, on the text read as a String.
    let string = String(decoding: text, as: UTF8.self)
    let utf8 = Array(string.utf8)
    let byteTexts = matches(detector, utf8).map { String(decoding: utf8[$0.range], as: UTF8.self) }
    let stringTexts = detector.matches(in: string).map { String(string[$0]) }
    check(byteTexts == stringTexts, "String matches \(stringTexts), byte matches \(byteTexts) (\(detector)) in \(hex(utf8))")
    check(detector.count(in: string) == byteTexts.count, "String count \(detector.count(in: string)), \(byteTexts.count) matches (\(detector)) in \(hex(utf8))")
    check(detector.count(in: string, limit: limit) == min(limit, byteTexts.count), "String count with limit \(limit) (\(detector)) in \(hex(utf8))")
    check(detector.first(in: string).map { String(string[$0]) } == byteTexts.first, "String first (\(detector)) in \(hex(utf8))")
    check(detector.isFound(in: string) == !byteTexts.isEmpty, "String isFound (\(detector)) in \(hex(utf8))")
}

/// `4`, 14 digits from `seed`, the Luhn check digit.
func visaNumber(_ seed: [UInt8]) -> [UInt8] {
    var digits: [UInt8] = [4]
    for i in 0..<14 { digits.append(i < seed.count ? seed[i] % 10 : UInt8(i % 10)) }
    for check in 0..<10 where DetectorChecksums.luhnIsValid(digits + [UInt8(check)]) { digits.append(UInt8(check)); break }
    return digits.map { $0 + 0x30 }
}

/// An IBAN of a registry country picked by `pick`, its BBAN from `seed`, with its check digits.
func ibanNumber(_ seed: [UInt8], pick: UInt8, lowerCase: Bool) -> [UInt8] {
    let codes = IBANCountry.codes
    let country = Array(codes[Int(pick) % codes.count].utf8)
    let length = IBANCountry.ibanLength(country[0], country[1])!
    let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    var bban: [UInt8] = []
    for i in 0..<(length - 4) {
        let byte = i < seed.count ? seed[i] : UInt8(truncatingIfNeeded: i &* 7)
        // Mostly digits, as real BBANs are.
        bban.append(byte < 0xC0 ? alphabet[Int(byte) % 10] : alphabet[Int(byte) % 36])
    }
    // MOD 97-10 of BBAN + country + "00", then 98 - remainder.
    var remainder = 0
    for byte in bban + country + Array("00".utf8) {
        if isDigit(byte) {
            remainder = (remainder * 10 + Int(byte - 0x30)) % 97
        } else {
            remainder = (remainder * 100 + Int((byte | 0x20) - 0x61) + 10) % 97
        }
    }
    let check = 98 - remainder
    var iban = country + [UInt8(0x30 + check / 10), UInt8(0x30 + check % 10)] + bban
    if lowerCase { iban = iban.map { isLetter($0) ? $0 | 0x20 : $0 } }
    return iban
}

func grouped(_ characters: [UInt8], every n: Int, separator: UInt8) -> [UInt8] {
    var out: [UInt8] = []
    for (i, c) in characters.enumerated() {
        if i > 0 && i % n == 0 { out.append(separator) }
        out.append(c)
    }
    return out
}

func checkFound(_ detector: BuiltinDetector, _ number: [UInt8]) {
    let text = Array("see ".utf8) + number + Array(" now".utf8)
    let found = matches(detector, text)
    check(found == [DetectorMatch(offset: 4, length: number.count)],
          "\(detector): \(String(decoding: number, as: UTF8.self)) not found exactly in \(hex(text)): \(found)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let limit = Int(input.byte())
    let style = input.byte()
    let text = input.rest()

    checkValidation(text, "(the whole text)")
    for detector in BuiltinDetector.all { checkDetector(detector, text, limit: limit) }

    let visa = visaNumber(text)
    switch style % 3 {
    case 0: checkFound(.cardNumber, visa)
    case 1: checkFound(.cardNumber, grouped(visa, every: 4, separator: 0x20))
    default: checkFound(.cardNumber, grouped(visa, every: 4, separator: 0x2D))
    }
    let iban = ibanNumber(Array(text.reversed()), pick: style >> 2, lowerCase: style & 0x80 != 0 && style & 1 != 0)
    checkFound(.iban, style & 2 == 0 ? iban : grouped(iban, every: 4, separator: 0x20))
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzDetectors_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
