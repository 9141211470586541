import FuzzSupport
import SluiceDNS

// The DKIM tag-list parser (DKIM-Signature fields and key records), header canonicalisation and the
// incremental body canonicaliser, on what any sender (or DNS spoofer) can write.
//
// Input: one byte choosing the chunk size, then the field octets.
//
// Properties:
// - no parser traps, whatever the octets;
// - a parsed signature names `from` in h=, has an i= in d= (or a subdomain), and its field without
//   b='s value parses again, with the same tags but an empty b= (so: an error), never a trap;
// - relaxed header canonicalisation gives `name:value\r\n` with a lower-case name, no WSP run, no WSP
//   at the ends of the value, and is idempotent when the value holds no CR or LF of its own;
// - the body canonicalisers give the same octets whatever the chunking; relaxed output has no TAB, no
//   two SPs in a row, no SP before CRLF, and never ends in an empty line; simple output ends in CRLF.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let chunk = Int(input.byte() % 16) + 1
    let bytes = input.rest()
    let field = DKIMHeaderField(name: "DKIM-Signature", raw: Array("DKIM-Signature:".utf8) + bytes)

    if let signature = try? DKIMSignature(parsing: field) {
        check(signature.signedHeaders.contains("from"), "h= without from: \(signature.signedHeaders)")
        check(signature.identityDomain == signature.domain || signature.identityDomain.hasSuffix("." + signature.domain),
              "i= \(signature.identity) outside d= \(signature.domain)")
        let stripped = DKIMHeaderField(name: "DKIM-Signature", raw: signature.fieldWithoutSignature)
        check((try? DKIMSignature(parsing: stripped)) == nil, "a field without b='s value still parses")
    }
    _ = try? DKIMKeyRecord(parsing: String(decoding: bytes, as: UTF8.self))

    if let header = DKIMHeaderField(raw: bytes) {
        let relaxed = DKIMCanonicalization.relaxed.canonicalize(header)
        check(relaxed.suffix(2).elementsEqual([13, 10]), "relaxed header without its CRLF")
        let colon = relaxed.firstIndex(of: UInt8(ascii: ":"))!
        check(!relaxed[..<colon].contains { $0 >= 0x41 && $0 <= 0x5A }, "upper case in a relaxed name")
        let value = relaxed[(colon + 1)..<(relaxed.count - 2)]
        check(value.first != 0x20 && value.last != 0x20, "WSP at the ends of a relaxed value")
        check(!value.contains(0x09) && !zip(value, value.dropFirst()).contains { $0 == 0x20 && $1 == 0x20 }, "WSP run in a relaxed value")
        if !value.contains(13) && !value.contains(10) {
            let again = DKIMCanonicalization.relaxed.canonicalize(DKIMHeaderField(raw: relaxed)!)
            check(again == relaxed, "relaxed canonicalisation is not idempotent")
        }
        check(DKIMCanonicalization.simple.canonicalize(header).starts(with: bytes), "simple changed the field")
    }

    for canonicalization in DKIMCanonicalization.allCases {
        var whole = DKIMBodyCanonicalizer(canonicalization)
        var expected: [UInt8] = []
        whole.feed(bytes, into: &expected)
        whole.finish(into: &expected)
        var pieces = DKIMBodyCanonicalizer(canonicalization)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            pieces.feed(Array(bytes[index..<min(bytes.count, index + chunk)]), into: &output)
            index += chunk
        }
        pieces.finish(into: &output)
        check(output == expected, "\(canonicalization) body differs with chunks of \(chunk)")
        if canonicalization == .relaxed {
            check(!output.contains(0x09), "TAB in a relaxed body")
            check(!zip(output, output.dropFirst()).contains { $0 == 0x20 && $1 == 0x20 }, "WSP run in a relaxed body")
            check(!output.indices.dropLast(2).contains { output[$0] == 0x20 && output[$0 + 1] == 0x0D && output[$0 + 2] == 0x0A },
                  "SP before CRLF in a relaxed body")
            check(!output.ends(with: [13, 10, 13, 10]) && !(output.count == 2 && output == [13, 10]), "relaxed body ends in an empty line")
        } else {
            check(!output.isEmpty && output.ends(with: [13, 10]), "simple body without its final CRLF")
        }
    }
    return 0
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzDKIMSignature_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
