import Foundation
import NIOCore
import SluiceSMTP
import SluiceSession
import Testing

@Suite struct MessagePlanTests {
    private let date = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func thePrefixIsTheTraceHeaderFromSessionValues() throws {
        var client = ClientIdentity(address: "192.0.2.1", sessionID: "5K2XQ9TD3B7N")
        client.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"
        let rcpt = ForwardPath.path(.init(mailbox: .init(localPart: "u", domain: "example.com")))
        let plan = MessagePlan(hostname: "sluice.test", client: client, greeting: Greeting(name: "client.example", extended: true),
                               recipients: [rcpt])
        var buffer = ByteBuffer()
        #expect(plan.writePrefix(date: date, into: &buffer) == 0, "nothing of the message is replaced")
        #expect(String(buffer: buffer) == "Received: from client.example ([192.0.2.1])\r\n"
                + "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
                + "\tby sluice.test (Sluice) with ESMTPS id 5K2XQ9TD3B7N\r\n\tfor <u@example.com>; Tue, 14 Nov 2023 22:13:20 +0000\r\n")
    }

    @Test func headerEditsRewriteTheParsedHeaderAndReplaceItsOctets() {
        let wire = Array("Subject: hi\r\nX-Internal: 7\r\n\r\nbody\r\n".utf8)
        let header = MessageHeader(wire: wire)
        let plan = MessagePlan(hostname: "h", client: ClientIdentity(address: "192.0.2.1"), greeting: Greeting(name: "c", extended: false),
                               recipients: [], headerEdits: [.remove(glob: "X-Internal"), .add(name: "X-Scanned", value: "yes")],
                               header: header)
        var buffer = ByteBuffer()
        let skip = plan.writePrefix(date: date, into: &buffer)
        #expect(skip == header.length)
        let text = String(buffer: buffer)
        #expect(text.contains("Subject: hi\r\nX-Scanned: yes\r\n\r\n"))
        #expect(!text.contains("X-Internal"))
    }

    @Test func withoutEditsTheHeaderGoesAsReceived() {
        let header = MessageHeader(wire: Array("Subject: hi\r\n\r\n".utf8))
        let plan = MessagePlan(hostname: "h", client: ClientIdentity(address: "192.0.2.1"), greeting: Greeting(name: "c", extended: false),
                               recipients: [], header: header)
        var buffer = ByteBuffer()
        #expect(plan.writePrefix(date: date, into: &buffer) == 0)
        #expect(!String(buffer: buffer).contains("Subject"))
    }
}
