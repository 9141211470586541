import Foundation
import SluiceConfig
import SluiceSMTP
import SluiceServer
import SluiceTestSupport
import Testing

/// `sluice explain` and the relay run the same `ClientSession` and `PolicyPipeline`: the same
/// transactions through both must come out the same.
@Suite struct ExplainAgreementTests {
    static let rules = """
        stage mail
          reject sender = "blocked@example.org" "550 5.7.1 Sender blocked"
        stage rcpt
          tag vip rcpt = "boss@example.com"
          reject rcpt = "nobody@example.com" "550 5.1.1 No such user"
        stage data
          reject tagged vip "550 5.7.1 Mail to the boss goes another way"
        stage body
          discard body ~ /lottery/i
          reject body ~ /wire transfer/i "550 5.7.1 Content rejected"
        """

    struct Case: Sendable, CustomTestStringConvertible {
        var from: String
        var to: [String]
        var body: String
        var testDescription: String { "\(from) -> \(to): \(body)" }
    }

    static let cases: [Case] = [
        Case(from: "alice@example.org", to: ["bob@example.com"], body: "hello"),
        Case(from: "blocked@example.org", to: ["bob@example.com"], body: "hello"),
        Case(from: "alice@example.org", to: ["nobody@example.com"], body: "hello"),
        // The tag set for the first recipient is seen by the data stage (an older explain forgot it).
        Case(from: "alice@example.org", to: ["boss@example.com", "bob@example.com"], body: "hello"),
        Case(from: "alice@example.org", to: ["bob@example.com", "nobody@example.com"], body: "hello"),
        Case(from: "alice@example.org", to: ["bob@example.com"], body: "you won the lottery"),
        Case(from: "alice@example.org", to: ["bob@example.com"], body: "please send a wire transfer"),
    ]

    @Test(arguments: cases)
    func explainAndTheRelayAgree(_ transaction: Case) async throws {
        let message = "Subject: t\r\n\r\n\(transaction.body)\r\n"
        let file = try ConfigurationLoader.load(text: "acknowledge open-relay\n" + Self.rules, file: "test.conf")
        func path(_ text: String) -> ForwardPath { .path(.init(mailbox: Mailbox(localPart: String(text.split(separator: "@")[0]),
                                                                               domain: String(text.split(separator: "@")[1])))) }
        let sender = ReversePath.path(.init(mailbox: Mailbox(localPart: String(transaction.from.split(separator: "@")[0]),
                                                            domain: String(transaction.from.split(separator: "@")[1]))))
        var input = Explainer.Transaction(client: "127.0.0.1", helo: "client.example", sender: sender, recipients: transaction.to.map(path))
        input.message = MessageHeader.wireForm(ofFile: Array(message.utf8))
        let (report, explained) = try Explainer(file: file).explain(input)

        try await withRules(Self.rules) { upstream, sluice in
            let result = try await SMTPLibSender.send(port: sluice.port, from: transaction.from, to: transaction.to, message: message)
            let relayed = !upstream.messages.isEmpty
            #expect(explained == relayed, "explain says relayed=\(explained), the relay \(relayed ? "relayed" : "did not") (\(result))\n\(report)")
        }
    }

    @Test func theTagOfAnEarlierRecipientReachesTheDataStage() throws {
        let file = try ConfigurationLoader.load(text: "acknowledge open-relay\n" + Self.rules, file: "test.conf")
        let input = Explainer.Transaction(
            client: "127.0.0.1", helo: "client.example",
            sender: .path(.init(mailbox: Mailbox(localPart: "alice", domain: "example.org"))),
            recipients: [.path(.init(mailbox: Mailbox(localPart: "boss", domain: "example.com"))),
                         .path(.init(mailbox: Mailbox(localPart: "bob", domain: "example.com")))])
        let (report, relayed) = try Explainer(file: file).explain(input)
        #expect(!relayed)
        #expect(report.contains("=> reject: 550 5.7.1 Mail to the boss goes another way"), "\(report)")
    }
}
