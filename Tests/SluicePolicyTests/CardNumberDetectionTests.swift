@testable import SluicePolicy
import Testing

private func cards(_ text: String) -> [String] {
    BuiltinDetector.cardNumber.matches(in: text).map { String(text[$0]) }
}

@Suite struct CardNumberDetectionTests {
    /// Published test numbers of each brand.
    @Test(arguments: [
        ("4111111111111111", CardIssuer.visa), ("4012888888881881", .visa), ("4222222222222", .visa),
        ("4000000000000000006", .visa), ("5555555555554444", .mastercard), ("5105105105105100", .mastercard),
        ("2223000048400011", .mastercard), ("2221000000000009", .mastercard), ("378282246310005", .americanExpress),
        ("371449635398431", .americanExpress), ("6011111111111117", .discover), ("6011000990139424", .discover),
        ("6445644564456445", .discover), ("6011000000000000001", .discover), ("3530111333300000", .jcb),
        ("3566002020360505", .jcb), ("30569309025904", .dinersClub), ("38520000023237", .dinersClub),
        ("36227206271667", .dinersClub), ("6200000000000005", .unionPay), ("2200000000000004", .mir),
        ("5018000000000009", .maestro), ("6759649826438453", .maestro),
    ])
    func testNumbersOfEachBrandAreFound(number: String, issuer: CardIssuer) {
        #expect(cards("pay with \(number) today") == [number])
        #expect(CardIssuer.issuer(of: number.utf8.map { $0 - 48 }) == issuer)
    }

    @Test(arguments: ["4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", "3782-822463-10005",
                      "4000 0000 0000 0000 006", "5555 5555 5555 4444", "30569 309025904"])
    func groupedNumbersAreFoundWithTheirSeparators(number: String) {
        #expect(cards("card: \(number).") == [number])
    }

    @Test(arguments: [
        "4111111111111112",  // Luhn failure
        "3400000000000000",  // Luhn-valid, but American Express issues 15 digits
        "510000000000003",  // Luhn-valid, but Mastercard issues 16
        "400000000000006",  // Luhn-valid, but Visa issues 13, 16, 19
        "1234000000000006",  // Luhn-valid, unknown issuer
        "9000000000000001",  // Luhn-valid 16 digits with IIN 9
        "411111111111",  // too short
    ])
    func invalidNumbersAreNotFound(number: String) {
        #expect(cards("number \(number) here").isEmpty)
    }

    @Test(arguments: [
        "+1 (555) 123-4567", "+44 20 7946 0958", "555-123-4567", "0800 123 4567 89",
        "Order 100023456789012 shipped", "invoice #2026-000123-45", "2026-12-01", "2026-12-01 10:00:00",
        "2026-12-01T10:00:00Z", "20261201T100000Z", "timestamp 1764583200000", "ISBN 978-3-16-148410-0",
        "tracking 1Z999AA10123456784",
    ])
    func nearMissesAreNotFound(text: String) {
        #expect(cards(text).isEmpty)
    }

    @Test(arguments: [
        "41111111111111110000",  // a 20-digit run
        "04111111111111111",  // a 17-digit run
        "x4111111111111111", "4111111111111111x", "card4111111111111111",
        "0.4111111111111111", "4111111111111111.5",
        "12-4111-1111-1111-1111", "4111-1111-1111-1111-12",
        "4111-1111 1111-1111", "4111 1111-1111 1111",  // mixed separators
        "4111  1111 1111 1111", "4111--1111-1111-1111", "4111 - 1111 - 1111 - 1111",  // doubled separators
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "41 11 11 11 11 11 11 11",  // groups too short
    ])
    func numbersInsideLongerRunsOrOddGroupingAreNotFound(text: String) {
        #expect(cards("see \(text) now").isEmpty)
    }

    @Test func spaceSeparatedNeighboursAreSeparateWords() {
        #expect(cards("order 12345 4111 1111 1111 1111") == ["4111 1111 1111 1111"])
        #expect(cards("4111 1111 1111 1111 2026") == ["4111 1111 1111 1111"])
        #expect(cards("1 4111111111111111 2") == ["4111111111111111"])
    }

    @Test func punctuationIsABoundary() {
        #expect(cards("(4111111111111111)") == ["4111111111111111"])
        #expect(cards("card:4111111111111111;") == ["4111111111111111"])
        #expect(cards("4111111111111111,5555555555554444") == ["4111111111111111", "5555555555554444"])
        #expect(cards("\"4111-1111-1111-1111\"") == ["4111-1111-1111-1111"])
    }

    @Test func unicodeTextAroundNumbersIsABoundary() {
        #expect(cards("Karte：4111 1111 1111 1111 — danke ✓") == ["4111 1111 1111 1111"])
        #expect(cards("é4111111111111111ü") == ["4111111111111111"])
        #expect(cards("日本5555555555554444円") == ["5555555555554444"])
    }

    @Test func distinctFindingsAreCounted() {
        let text = "a 4111111111111111 b 5555-5555-5555-4444 c 3782 822463 10005 d 4111111111111111 e 1234567890123456"
        #expect(BuiltinDetector.cardNumber.count(in: text) == 4)
        #expect(BuiltinDetector.cardNumber.count(in: text, limit: 2) == 2)
        #expect(BuiltinDetector.cardNumber.count(in: "") == 0)
    }

    @Test func findingsDoNotOverlap() {
        let text = "4111 1111 1111 1111 4111 1111 1111 1111"
        #expect(cards(text) == ["4111 1111 1111 1111", "4111 1111 1111 1111"])
    }

    @Test func theFirstFindingIsReportedWithItsRange() {
        let text = "Grüße 4111 1111 1111 1111 und 5555555555554444"
        let range = BuiltinDetector.cardNumber.first(in: text)
        #expect(range.map { String(text[$0]) } == "4111 1111 1111 1111")
        #expect(BuiltinDetector.cardNumber.isFound(in: text))
        #expect(!BuiltinDetector.cardNumber.isFound(in: "nothing 2026-12-01 here"))
    }

    @Test func bufferMatchesAreByteOffsets() {
        let text = "é 4111111111111111"
        let matches = Array(text.utf8).withUnsafeBytes { BuiltinDetector.cardNumber.matches(in: $0) }
        #expect(matches == [DetectorMatch(offset: 3, length: 16)])
    }
}

/// One test per defect the fuzzer (Fuzz/Sources/FuzzDetectors) found.
@Suite struct DetectorFuzzFindingsTests {
    /// Fuzz/Crashes/FuzzDetectors-word-dash-prefix: digits inside a word joined by a dash to a card
    /// number made it a new candidate (`12-4111…` had none, `q2-4111…` had one).
    @Test func digitsInAWordDashJoinedToANumberAreOneToken() {
        #expect(cards("see q2-4111-1111-1111-1111 now").isEmpty)
        #expect(cards("see x1-378282246310005 now").isEmpty)
        #expect(cards("see 12-4111-1111-1111-1111 now").isEmpty)
        // Fuzz/Crashes/FuzzDetectors-word-then-digits-dash: the same after a number that runs into a word.
        #expect(cards("41111111111Substrin12-4111-1111-1111-1111").isEmpty)
        // A word of letters before the dash does not join: the number stands on its own.
        #expect(cards("ref-4111-1111-1111-1111") == ["4111-1111-1111-1111"])
    }
}
