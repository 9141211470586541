import FuzzSupport
import NIOCore
import SluiceSMTP

// ProxyHeaderParser on the first octets of a connection to a proxy-protocol listener.
//
// Properties:
// - every prefix of an input that parses to a header needs more (never invalid, never another header):
//   a header split across reads is read the same whatever the split;
// - a header takes at most 107 octets (v1) or 16 + maxV2Length (v2), never more than the input;
// - appending octets after a complete header changes neither the header nor its length;
// - a source address is one an IP parser accepts (dotted quad, or IPv6 text), with a port of 0-65535.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    let result = ProxyHeaderParser.parse(ByteBuffer(bytes: bytes))
    guard case .header(let header, let length) = result else { return 0 }
    check(length > 0 && length <= bytes.count, "header length \(length) of \(bytes.count) octets")
    check(length <= max(107, 16 + ProxyHeaderParser.maxV2Length), "header of \(length) octets")
    for cut in 0..<length {
        let prefix = ProxyHeaderParser.parse(ByteBuffer(bytes: bytes[..<cut]))
        check(prefix == .needMore, "prefix of \(cut) octets gives \(prefix) for \(hex(bytes))")
    }
    let extended = ProxyHeaderParser.parse(ByteBuffer(bytes: bytes + Array("EHLO x\r\n".utf8)))
    check(extended == result, "octets after the header change it: \(extended) vs \(result)")
    if let source = header.source {
        check((0...65535).contains(source.port), "port \(source.port)")
        let v4 = source.address.split(separator: ".").count == 4
        check(v4 || source.address.contains(":"), "address \(source.address)")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzProxyHeader_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
