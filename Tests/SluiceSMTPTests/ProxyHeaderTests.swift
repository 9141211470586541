import NIOCore
import SluiceSMTP
import Testing

@Suite struct ProxyHeaderTests {
    static func v2(command: UInt8 = 0x21, family: UInt8, body: [UInt8]) -> [UInt8] {
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, command, family,
         UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let v2TCP4 = v2(family: 0x11, body: [203, 0, 113, 7, 192, 0, 2, 1, 0x9C, 0x40, 0, 25])
    static let v2TCP6WithTLV = v2(family: 0x21, body: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [7]
                                  + [UInt8](repeating: 0, count: 15) + [1] + [0x9C, 0x41, 0, 25] + [0x04, 0x00, 0x02, 0x41, 0x42])

    static func parse(_ bytes: [UInt8]) -> ProxyHeaderParser.Result { ProxyHeaderParser.parse(ByteBuffer(bytes: bytes)) }

    @Test func versionOneGivesTheClientAndItsLength() {
        let line = Array("PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\nEHLO x\r\n".utf8)
        #expect(Self.parse(line) == .header(ProxyHeader(source: ("203.0.113.7", 40000), version: 1), length: 43))
        #expect(Self.parse(Array("PROXY TCP6 2001:db8::7 2001:db8::1 40001 25\r\n".utf8))
                == .header(ProxyHeader(source: ("2001:db8::7", 40001), version: 1), length: 45))
        #expect(Self.parse(Array("PROXY UNKNOWN\r\n".utf8)) == .header(ProxyHeader(source: nil, version: 1), length: 15))
        #expect(Self.parse(Array("PROXY UNKNOWN ffff:f...f 1 2\r\n".utf8)) == .header(ProxyHeader(source: nil, version: 1), length: 30))
    }

    @Test func versionTwoGivesTheClientAndSkipsTLVs() {
        #expect(Self.parse(Self.v2TCP4 + Array("EHLO".utf8)) == .header(ProxyHeader(source: ("203.0.113.7", 40000), version: 2), length: 28))
        #expect(Self.parse(Self.v2TCP6WithTLV) == .header(ProxyHeader(source: ("2001:db8::7", 40001), version: 2), length: 16 + 41))
        #expect(Self.parse(Self.v2(command: 0x20, family: 0x00, body: [])) == .header(ProxyHeader(source: nil, version: 2), length: 16),
                "LOCAL: the balancer's own health check")
        #expect(Self.parse(Self.v2(family: 0x00, body: [1, 2, 3])) == .header(ProxyHeader(source: nil, version: 2), length: 19))
    }

    @Test(arguments: [Array("PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\n".utf8), v2TCP4, v2TCP6WithTLV])
    func aHeaderSplitAnywhereNeedsMoreUntilItIsWhole(_ header: [UInt8]) {
        for cut in 0..<header.count {
            #expect(Self.parse(Array(header[..<cut])) == .needMore, "cut at \(cut)")
        }
        guard case .header(_, let length) = Self.parse(header) else { Issue.record("whole header not read"); return }
        #expect(length == header.count)
    }

    @Test(arguments: [
        ("EHLO client.example\r\n", "no PROXY header"),
        ("PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\n", "PROXY v1 line without CRLF"),
        ("PROXY TCP4 203.0.113.7 192.0.2.1 40000\r\n", "malformed PROXY v1 line"),
        ("PROXY TCP4 203.0.113.700 192.0.2.1 40000 25\r\n", "PROXY v1 address is not IPv4"),
        ("PROXY TCP4 2001:db8::7 192.0.2.1 40000 25\r\n", "PROXY v1 address is not IPv4"),
        ("PROXY TCP4 203.0.113.7 192.0.2.1 +4000 25\r\n", "malformed PROXY v1 line"),
        ("PROXY TCP4 203.0.113.7 192.0.2.1 70000 25\r\n", "malformed PROXY v1 line"),
        ("PROXY UDP4 203.0.113.7 192.0.2.1 40000 25\r\n", "unknown PROXY v1 protocol 'UDP4'"),
        ("PROXY TCP4 203.0.113.7\0 192.0.2.1 40000 25\r\n", "PROXY v1 line with a control octet"),
        ("PROXY " + String(repeating: "9", count: 120), "PROXY v1 line longer than 107 octets"),
    ])
    func malformedVersionOneHeadersAreRefused(_ text: String, _ reason: String) {
        #expect(Self.parse(Array(text.utf8)) == .invalid(reason))
    }

    @Test func malformedVersionTwoHeadersAreRefused() {
        var badVersion = Self.v2TCP4
        badVersion[12] = 0x31
        #expect(Self.parse(badVersion) == .invalid("PROXY v2 with version 3"))
        #expect(Self.parse(Self.v2(family: 0x11, body: [UInt8](repeating: 0, count: 2000))) == .invalid("PROXY v2 header of 2000 octets (at most 1024)"))
        #expect(Self.parse(Self.v2(family: 0x11, body: [1, 2, 3])) == .invalid("PROXY v2 IPv4 addresses cut short"))
        #expect(Self.parse(Self.v2(family: 0x31, body: [UInt8](repeating: 0, count: 216))) == .invalid("PROXY v2 address family 49 is not TCP over IPv4 or IPv6"))
        #expect(Self.parse(Self.v2(command: 0x22, family: 0x11, body: [UInt8](repeating: 0, count: 12))) == .invalid("PROXY v2 command 2"))
    }
}
