@testable import SluicePolicy
import Testing

private func ibans(_ text: String) -> [String] {
    BuiltinDetector.iban.matches(in: text).map { String(text[$0]) }
}

@Suite struct IBANDetectionTests {
    /// Examples from the IBAN registry, in print format.
    static let valid = [
        "GB82 WEST 1234 5698 7654 32", "GB29 NWBK 6016 1331 9268 19", "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606", "CH93 0076 2011 6238 5295 7", "NL91 ABNA 0417 1643 00",
        "BE68 5390 0754 7034", "ES91 2100 0418 4502 0005 1332", "NO93 8601 1117 947", "IT60 X054 2811 1010 0000 0123 456",
        "AT61 1904 3002 3457 3201", "PL61 1090 1014 0000 0712 1981 2874", "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
        "BR18 0036 0305 0000 1000 9795 493C 1", "SA03 8000 0000 6080 1016 7519", "LC55 HEMM 0001 0001 0012 0012 0002 3015",
        "RU02 0445 2560 0407 0281 0412 3456 7890 1",
    ]

    @Test(arguments: valid)
    func registryExamplesAreFoundInPrintFormat(iban: String) {
        #expect(ibans("pay to \(iban), thanks") == [iban])
    }

    @Test(arguments: valid)
    func registryExamplesAreFoundWithoutSpaces(iban: String) {
        let compact = iban.replacing(" ", with: "")
        #expect(ibans("IBAN:\(compact).") == [compact])
    }

    @Test func lowerCaseIsAccepted() {
        #expect(ibans("gb82west12345698765432") == ["gb82west12345698765432"])
        #expect(ibans("de89 3704 0044 0532 0130 00") == ["de89 3704 0044 0532 0130 00"])
    }

    @Test(arguments: [
        "GB83 WEST 1234 5698 7654 32",  // wrong check digits
        "GB00 WEST 1234 5698 7654 32", "GB99WEST12345698765432",  // check digits out of range
        "GB82 WEST 1234 5698 7654 3",  // too short for GB
        "NL91ABNA04171643001",  // too long for NL
        "XX82WEST12345698765432", "US64SVBKUS6S3300958879",  // no IBANs in that country
        "GB82 WEST 12345698 765432", "GB82  WEST 1234 5698 7654 32", "GB82WEST 1234 5698 7654 32",  // bad grouping
        "xGB82WEST12345698765432", "GB82WEST123456987654321", "GB82WEST12345698765432x",  // inside a word
    ])
    func invalidIBANsAreNotFound(text: String) {
        #expect(ibans("see \(text) now").isEmpty)
    }

    @Test func aGroupedIBANMayBeFollowedByWords() {
        #expect(ibans("GB82 WEST 1234 5698 7654 32 is mine") == ["GB82 WEST 1234 5698 7654 32"])
        #expect(ibans("BE68 5390 0754 7034 1234") == ["BE68 5390 0754 7034"])
    }

    @Test func distinctFindingsAreCountedAroundUnicodeText() {
        let text = "Überweisung an DE89370400440532013000 — oder « GB82 WEST 1234 5698 7654 32 » ✓ NO9386011117947"
        #expect(ibans(text) == ["DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "NO9386011117947"])
        #expect(BuiltinDetector.iban.count(in: text) == 3)
        #expect(BuiltinDetector.iban.count(in: text, limit: 1) == 1)
    }

    @Test func theRegistryHasEveryIBANCountry() {
        #expect(IBANCountry.codes.count == 89)
        #expect(IBANCountry.ibanLength(UInt8(ascii: "D"), UInt8(ascii: "E")) == 22)
        #expect(IBANCountry.ibanLength(UInt8(ascii: "l"), UInt8(ascii: "c")) == 32)
        #expect(IBANCountry.ibanLength(UInt8(ascii: "U"), UInt8(ascii: "S")) == nil)
        #expect(IBANCountry.ibanLength(UInt8(ascii: "1"), UInt8(ascii: "S")) == nil)
    }

    @Test func detectorsAreFoundByName() {
        #expect(BuiltinDetector(named: "iban") == .iban)
        #expect(BuiltinDetector(named: "card-number") == .cardNumber)
        #expect(BuiltinDetector(named: "ssn") == nil)
        #expect(BuiltinDetector.all.map(\.name) == ["card-number", "iban"])
    }
}
