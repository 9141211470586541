import SluicePolicy
import SluiceSMTP

/// `bcc` and `redirect`: after the message rules and before DATA, the upstream is given the recipients
/// the rules decided, in the same transaction. A redirect resets the upstream's transaction (its
/// recipients were the client's) and opens it again with the same MAIL; a bcc adds a RCPT. The replies
/// are Sluice's own; any refusal is a 4xx for the message (it never goes without its journal copy).
extension ClientSession {
    mutating func route(_ routing: RecipientRouting, _ greeting: Greeting, _ transaction: Transaction, size: Int) -> [SessionAction] {
        let recipients = routing.recipients(replacing: transaction.recipients)
        var actions: [SessionAction] = []
        var commands: [SMTPCommand]
        if routing.redirect.isEmpty {
            commands = recipients.filter { !transaction.recipients.contains($0) }.map { .rcpt($0, ESMTPParameters()) }
        } else {
            actions.append(.resetUpstream)
            commands = [.mail(transaction.sender, transaction.parameters)] + recipients.map { .rcpt($0, ESMTPParameters()) }
        }
        guard let first = commands.first else {
            state = .awaitingDataReply(greeting, transaction, size: size)
            return [.forward(.data)]
        }
        state = .routingMessage(greeting, transaction, size: size, commands: commands, recipients: recipients)
        return actions + [.forward(first)]
    }

    /// The upstream answered one of the routing commands.
    mutating func routed(_ reply: SMTPReply, _ greeting: Greeting, _ transaction: Transaction, size: Int,
                         commands: [SMTPCommand], recipients: [ForwardPath]) -> [SessionAction] {
        guard reply.isPositiveCompletion else {
            state = .ready(.greeted(greeting))
            pendingEdits = ([], nil, [])
            let refusal = SMTPReply.routingRefused
            return [.reply(refusal), .discardMessage,
                    .outcome(TransactionOutcome(status: .failed, greeting: greeting, transaction: transaction, size: size, reply: refusal)),
                    .resetUpstream] + closeIfDraining()
        }
        let rest = Array(commands.dropFirst())
        if let next = rest.first {
            state = .routingMessage(greeting, transaction, size: size, commands: rest, recipients: recipients)
            return [.forward(next)]
        }
        var routed = transaction
        routed.recipients = recipients
        state = .awaitingDataReply(greeting, routed, size: size)
        return [.forward(.data)]
    }
}
