import ArgumentParser
import Foundation
import SluiceConfig
import SluicePolicy
import SluiceSMTP
import SluiceServer

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Run a transaction through the rules offline and show, stage by stage, what each rule did.")

    @Option(help: "Configuration file.") var config: String
    @Option(help: "Client IP address.") var client: String
    @Option(help: "HELO/EHLO name.") var helo: String = "client.example"
    @Option(help: "Envelope sender (empty for the null sender).") var from: String
    @Option(help: "Envelope recipient (repeatable).") var to: [String]
    @Flag(help: "The client uses TLS.") var tls = false
    @Option(help: "The client authenticated as USER.") var auth: String?
    @Argument(help: "A message file (RFC 5322) for the header, body and eom stages.") var message: String?

    func run() throws {
        let configuration = try ConfigurationLoader.load(path: config)
        func path(_ text: String, _ command: String) throws -> SMTPCommand {
            do { return try CommandParser.parse(Array("\(command)<\(text)>".utf8)) } catch {
                throw CommandFailure(message: "'\(text)': \(error.detail)")
            }
        }
        guard case .mail(let sender, _) = try path(from, "MAIL FROM:") else { throw CommandFailure(message: "bad --from") }
        let recipients = try to.map { text -> ForwardPath in
            guard case .rcpt(let recipient, _) = try path(text, "RCPT TO:") else { throw CommandFailure(message: "bad --to") }
            return recipient
        }
        var transaction = Explainer.Transaction(client: client, helo: helo, sender: sender, recipients: recipients)
        transaction.tls = tls
        transaction.authUser = auth
        if let message {
            guard let data = FileManager.default.contents(atPath: message) else { throw CommandFailure(message: "cannot read \(message)") }
            transaction.message = MessageHeader.wireForm(ofFile: Array(data))
        }
        let (report, _) = try Explainer(file: configuration).explain(transaction)
        print(report)
    }
}
