import Foundation
import SluiceSMTP
import Testing

@Suite struct EHLOAndTraceTests {
    @Test func capabilityListKeepsOnlyWhatSluiceCarries() {
        let upstream = SMTPReply(code: 250, lines: ["mx.upstream Hello", "PIPELINING", "SIZE 10240000", "STARTTLS", "AUTH PLAIN LOGIN",
                                                    "CHUNKING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "ETRN", "VRFY"])
        #expect(EHLOCapabilities.upstreamSize(in: upstream) == 10_240_000)
        let filtered = EHLOCapabilities.filter(upstream, hostname: "sluice.test", messageSize: 5000)
        #expect(filtered.lines == ["sluice.test Hello", "PIPELINING", "SIZE 5000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"])
    }

    @Test func receivedHeaderNamesSluiceClientHeloAndSession() {
        let header = TraceHeader(hostname: "sluice.test", helo: "client.example", clientAddress: "192.0.2.7", sessionID: "ABC123",
                                 esmtp: true, recipient: "<u@example.com>", date: Date(timeIntervalSince1970: 0)).text
        #expect(header == "Received: from client.example ([192.0.2.7])\r\n\tby sluice.test (Sluice) with ESMTP id ABC123\r\n\tfor <u@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r\n")
        let v6 = TraceHeader(hostname: "s", helo: "h(x)", clientAddress: "::1", sessionID: "I", esmtp: false, date: Date()).text
        #expect(v6.hasPrefix("Received: from h_x_ ([IPv6:::1])"))
    }

    @Test func endpointsParseBothFamilies() throws {
        #expect(try Endpoint(parsing: "127.0.0.1:25") == Endpoint(host: "127.0.0.1", port: 25))
        #expect(try Endpoint(parsing: "[::1]:2525") == Endpoint(host: "::1", port: 2525))
        #expect(throws: Endpoint.ParseError.self) { try Endpoint(parsing: "::1:25") }
        #expect(throws: Endpoint.ParseError.self) { try Endpoint(parsing: "host") }
        #expect(throws: Endpoint.ParseError.self) { try Endpoint(parsing: "host:99999") }
    }
}
