/// IBAN lengths by country, from the SWIFT IBAN registry (ISO 13616): every country that issues
/// IBANs, 89 of them. Territories that use another country's IBANs (French overseas departments,
/// Åland, …) are written with that country's code and so are covered by it.
enum IBANCountry {
    /// `CCnn`: country code and IBAN length.
    private static let registry = """
        AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 \
        DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 \
        IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 \
        MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 \
        SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30
        """

    /// The 26 × 26 country codes to IBAN length (0: no IBANs).
    private static let lengths: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 26 * 26)
        for entry in registry.split(separator: " ") {
            let bytes = Array(entry.utf8)
            guard bytes.count == 4, let length = UInt8(String(entry.dropFirst(2))) else { continue }
            table[Int(bytes[0] - UInt8(ascii: "A")) * 26 + Int(bytes[1] - UInt8(ascii: "A"))] = length
        }
        return table
    }()

    /// Every country code in the registry.
    static var codes: [String] { registry.split(separator: " ").map { String($0.prefix(2)) } }

    /// The IBAN length for the country code in these two ASCII letters (either case); nil when the
    /// country issues none.
    static func ibanLength(_ first: UInt8, _ second: UInt8) -> Int? {
        guard DetectorBytes.isLetter(first), DetectorBytes.isLetter(second) else { return nil }
        let index = Int((first | 0x20) - UInt8(ascii: "a")) * 26 + Int((second | 0x20) - UInt8(ascii: "a"))
        let length = lengths[index]
        return length == 0 ? nil : Int(length)
    }
}
