import Foundation
import Logging
import NIOCore
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// STARTTLS on the client side, and the log lines and counters of decisions and transactions.
extension SessionHandler {
    /// STARTTLS: the 220 goes out in plaintext, every byte the client pipelined after STARTTLS is
    /// discarded (CVE-2011-0411), and the TLS handler takes over the connection.
    func startTLS() {
        flush()
        input.clear()
        guard let tls = configuration.tls, let context else { return close(.tls) }
        do {
            try context.pipeline.syncOperations.addHandler(TLSHandler(context: tls), position: .first)
        } catch {
            environment.logger.warning("\(sessionID): could not start TLS: \(error)")
            close(.tls)
        }
    }

    // MARK: Logging

    func logPolicy(_ note: PolicyNote) {
        let rule = note.rule.map { " rule=\($0)" } ?? ""
        let line = "\(sessionID): stage=\(note.stage.rawValue)\(rule) \(note.kind == .log ? "log: " : "")\(note.text)"
        let metadata: Logger.Metadata? = structuredLogs
            ? ["event": "policy", "stage": "\(note.stage.rawValue)", "verdict": "\(note.verdict)", "rule": "\(note.rule.map { "\($0)" } ?? "builtin")",
               "mode": "\(note.kind == .observed ? "observe" : note.kind == .log ? "log" : "enforce")"]
            : nil
        if note.kind == .limitExceeded {
            environment.logger.warning("\(line)", metadata: metadata)
        } else {
            environment.logger.info("\(line)", metadata: metadata)
        }
        // Bounded labels: stage, verdict, rule (file:line), mode — never an address or a subject.
        guard note.kind != .log else { return }
        environment.metrics.ruleMatched(note)
    }

    func logOutcome(_ outcome: TransactionOutcome) {
        environment.metrics.transactionEnded(outcome.status)
        // `ID: client=[ADDR] helo=NAME from=<S> to=<R1>,<R2> size=N status=delivered reply="250 2.0.0 Ok"`,
        // written piece by piece into one buffer (one of these per message).
        var line = Self.allocator.buffer(capacity: 160 + 40 * outcome.transaction.recipients.count)
        line.writeString(sessionID)
        line.writeStaticString(": client=[")
        line.writeString(session.clientAddress)
        line.writeStaticString("] helo=")
        line.writeString(outcome.greeting.name)
        line.writeStaticString(" from=")
        outcome.transaction.sender.write(into: &line)
        line.writeStaticString(" to=")
        for (index, recipient) in outcome.transaction.recipients.enumerated() {
            if index > 0 { line.writeStaticString(",") }
            recipient.write(into: &line)
        }
        line.writeStaticString(" size=")
        line.writeString(String(outcome.size))
        line.writeStaticString(" status=")
        line.writeString(outcome.status.rawValue)
        line.writeStaticString(" reply=\"")
        outcome.reply.writeSummary(into: &line)
        line.writeStaticString("\"")
        let metadata: Logger.Metadata? = structuredLogs ? [
            "event": "transaction", "client": "\(session.clientAddress)", "helo": "\(outcome.greeting.name)",
            "from": "\(outcome.transaction.sender)", "to": .array(outcome.transaction.recipients.map { "\($0)" }),
            "size": "\(outcome.size)", "status": "\(outcome.status.rawValue)", "reply": "\(outcome.reply.code)",
        ] : nil
        environment.logger.info(Logger.Message(stringLiteral: String(buffer: line)), metadata: metadata)
    }
}
