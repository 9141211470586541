import FuzzSupport
import SluiceDNS

// The record-data decoders on a DNS answer's rdata (what a DNS server, or anyone spoofing one, sends).
//
// Properties:
// - no decoder traps, whatever the octets;
// - a decoded name re-encodes (length-prefixed labels, a zero octet) to a prefix of the input with
//   its case folded, and has at most 255 octets;
// - a TXT decoding keeps every octet of its character-strings (its length is the input's minus one
//   length octet per string) or is nil;
// - an A record decodes only from exactly 4 octets, an AAAA from exactly 16.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    if let name = RecordData.name(bytes) {
        var encoded: [UInt8] = []
        if !name.isEmpty {
            for label in name.split(separator: ".", omittingEmptySubsequences: false) {
                encoded.append(UInt8(label.utf8.count))
                encoded += label.utf8
            }
        }
        encoded.append(0)
        let folded = bytes.prefix(encoded.count).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        // Labels holding a dot or non-ASCII octets cannot round-trip through text: only check plain ones.
        let plain = bytes.prefix(encoded.count).allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: ".") }
        if plain, encoded.count <= bytes.count {
            check(Array(folded) == encoded.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, "name \(name) from \(hex(bytes))")
        }
    }
    if let text = RecordData.text(bytes) {
        var strings = 0, index = 0
        while index < bytes.count { strings += 1; index += 1 + Int(bytes[index]) }
        let octets = bytes.count - strings
        check(text.utf8.count == octets || text.unicodeScalars.contains("\u{FFFD}"), "TXT \(text.utf8.count) octets from \(octets)")
    }
    check((RecordData.ipv4(bytes) != nil) == (bytes.count == 4), "A from \(bytes.count) octets")
    check((RecordData.ipv6(bytes) != nil) == (bytes.count == 16), "AAAA from \(bytes.count) octets")
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzRecordData_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
