/// The payment card brands the `card-number` detector knows, each with the issuer identification
/// number (IIN) ranges it issues and the lengths of its card numbers. A Luhn-valid number outside
/// every range (1234…, 9…), or with a length its range does not issue, is not a card number.
///
/// | Brand | IIN prefixes | Lengths |
/// |---|---|---|
/// | Visa | 4 | 13, 16, 19 |
/// | Mastercard | 51–55, 2221–2720 | 16 |
/// | American Express | 34, 37 | 15 |
/// | Discover | 6011, 644–649, 65 | 16–19 |
/// | JCB | 3528–3589 | 16–19 |
/// | Diners Club | 300–305, 3095, 36, 38–39 | 14–19 |
/// | UnionPay | 62 | 16–19 |
/// | Mir | 2200–2204 | 16–19 |
/// | Maestro | 50, 56–58, 60–69 | 12–19 (13–19 here: shorter runs are never candidates) |
///
/// Ranges overlap (Maestro's 6x covers Discover's and UnionPay's); a number is accepted when any
/// range takes it, and named after the first.
enum CardIssuer: String, Sendable, CaseIterable {
    case visa, mastercard, americanExpress, discover, jcb, dinersClub, unionPay, mir, maestro

    /// One IIN range: numbers whose first `digits` digits are in `low...high`, of the lengths in
    /// `lengths` (bit n set: n digits).
    private struct Range: Sendable {
        let issuer: CardIssuer
        let low: Int
        let high: Int
        let digits: Int
        let lengths: UInt32

        init(_ issuer: CardIssuer, _ low: Int, _ high: Int, lengths: ClosedRange<Int>) {
            self.init(issuer, low, high, lengths: Array(lengths))
        }

        init(_ issuer: CardIssuer, _ low: Int, _ high: Int, lengths: [Int]) {
            self.issuer = issuer
            self.low = low
            self.high = high
            self.digits = String(high).count
            self.lengths = lengths.reduce(0) { $0 | 1 << UInt32($1) }
        }
    }

    private static let ranges: [Range] = [
        Range(.visa, 4, 4, lengths: [13, 16, 19]),
        Range(.mastercard, 51, 55, lengths: [16]),
        Range(.mastercard, 2221, 2720, lengths: [16]),
        Range(.americanExpress, 34, 34, lengths: [15]),
        Range(.americanExpress, 37, 37, lengths: [15]),
        Range(.discover, 6011, 6011, lengths: 16...19),
        Range(.discover, 644, 649, lengths: 16...19),
        Range(.discover, 65, 65, lengths: 16...19),
        Range(.jcb, 3528, 3589, lengths: 16...19),
        Range(.dinersClub, 300, 305, lengths: 14...19),
        Range(.dinersClub, 3095, 3095, lengths: 14...19),
        Range(.dinersClub, 36, 36, lengths: 14...19),
        Range(.dinersClub, 38, 39, lengths: 14...19),
        Range(.unionPay, 62, 62, lengths: 16...19),
        Range(.mir, 2200, 2204, lengths: 16...19),
        Range(.maestro, 50, 50, lengths: 12...19),
        Range(.maestro, 56, 58, lengths: 12...19),
        Range(.maestro, 60, 69, lengths: 12...19),
    ]

    /// The brand issuing the number with these decimal digit values (most significant first), if any.
    static func issuer(of digits: [UInt8]) -> CardIssuer? {
        guard digits.count < 32 else { return nil }
        let lengthBit: UInt32 = 1 << UInt32(digits.count)
        for range in ranges where range.lengths & lengthBit != 0 && range.digits <= digits.count {
            var prefix = 0
            for digit in digits.prefix(range.digits) { prefix = prefix * 10 + Int(digit) }
            if prefix >= range.low, prefix <= range.high { return range.issuer }
        }
        return nil
    }
}
