import SluicePolicy
import SluiceSMTP

/// The session's answers to failures and endings: the upstream failing, the end of DATA, the spool
/// failing, the client going silent, shutdown, the client closing.
extension ClientSession {
    public mutating func upstreamFailed(_ failure: UpstreamFailure) -> [SessionAction] {
        upstreamAlive = false
        let transactionReply: SMTPReply = failure == .timedOut ? .upstreamTimedOut : .upstreamFailedInTransaction
        switch state {
        case .new, .delayingGreeting, .awaitingGreeting:
            state = .closed
            return [.reply(.upstreamUnavailable(hostname)), .close(.upstream)]
        case .ready, .authenticating:
            state = .closed
            return [.reply(.upstreamLost(hostname)), .close(.upstream)]
        case .receivingData, .awaitingPolicy(_, .message):
            return [] // answered at the final dot / when the message decision is in
        case .awaitingPolicy(let phase, let wait):
            switch wait {
            case .mail, .rcpt, .data:
                state = .upstreamGone
                return [.reply(transactionReply)] + closeIfDraining()
            case .helo, .connect, .xclient, .message:
                if case .transaction = phase {
                    state = .upstreamGone
                    return [.reply(transactionReply)] + closeIfDraining()
                }
                state = .closed
                return [.reply(.upstreamLost(hostname)), .close(.upstream)]
            }
        case .awaitingReply(let phase, let pending):
            switch pending {
            case .quit:
                state = .closed
                return [.reply(.serviceClosing(hostname)), .close(.quit)]
            case .mail, .rcpt:
                state = .upstreamGone
                return [.reply(transactionReply)] + closeIfDraining()
            case .helo, .rset, .other, .auth:
                if case .transaction = phase {
                    state = .upstreamGone
                    return [.reply(transactionReply)] + closeIfDraining()
                }
                state = .closed
                return [.reply(.upstreamLost(hostname)), .close(.upstream)]
            }
        case .awaitingDataReply(let greeting, let transaction, let size), .awaitingFinalReply(let greeting, let transaction, let size),
             .routingMessage(let greeting, let transaction, let size, _, _):
            state = .upstreamGone
            return [.reply(transactionReply), .discardMessage,
                    .outcome(TransactionOutcome(status: .failed, greeting: greeting, transaction: transaction, size: size, reply: transactionReply))]
                + closeIfDraining()
        case .upstreamGone, .closed:
            return []
        }
    }

    /// The client's final dot arrived. `fault` is the decoder's verdict on the content.
    public mutating func dataFinished(size: Int, fault: DataDecoder.Fault?) -> [SessionAction] {
        guard case .receivingData(let greeting, let transaction) = state else { return [] }
        if !upstreamAlive {
            state = .upstreamGone
            return [.reply(.upstreamFailedInTransaction), .discardMessage,
                    .outcome(TransactionOutcome(status: .failed, greeting: greeting, transaction: transaction, size: size, reply: .upstreamFailedInTransaction))]
        }
        if let fault {
            let reply: SMTPReply
            switch fault {
            case .bareLF: reply = .bareLineFeedInData
            case .bareCR: reply = .bareCarriageReturnInData
            case .nul: reply = .nulInData
            case .lineTooLong: reply = .dataLineTooLong(configuration.limits.dataLineLength)
            case .tooLarge: reply = .messageTooBig
            }
            // The upstream accepted MAIL and RCPT: close its transaction too.
            state = .ready(.greeted(greeting))
            var actions: [SessionAction] = [.discardMessage,
                                            .outcome(TransactionOutcome(status: .refused, greeting: greeting, transaction: transaction, size: size, reply: reply))]
            actions += countError(reply)
            if !isClosed { actions.append(.resetUpstream) }
            return actions
        }
        var facts = baseFacts(.transaction(greeting, transaction))
        facts.size = size
        return ask(.message, facts, .transaction(greeting, transaction), .message(size: size), recipients: transaction.recipients)
    }

    /// The message could not be spooled (its final dot has arrived; nothing went upstream): `452 4.3.1`
    /// when the disk is full, else `451 4.3.0`. Either way a temporary failure: the client keeps the
    /// message and retries.
    public mutating func spoolFailed(diskFull: Bool, size: Int) -> [SessionAction] {
        guard case .receivingData(let greeting, let transaction) = state else { return [] }
        state = .ready(.greeted(greeting))
        let reply: SMTPReply = diskFull ? .spoolFull : .spoolFailure
        return [.reply(reply), .discardMessage,
                .outcome(TransactionOutcome(status: .failed, greeting: greeting, transaction: transaction, size: size, reply: reply)),
                .resetUpstream] + closeIfDraining()
    }

    /// `limit greet-delay` is over and the client kept quiet: now the upstream is contacted.
    public mutating func greetDelayElapsed() -> [SessionAction] {
        guard case .delayingGreeting = state else { return [] }
        state = .awaitingGreeting
        return [.connectUpstream]
    }

    /// The client sent something before it was greeted: refused (`554 5.5.0`) and dropped, before or
    /// instead of any upstream connection; an exempt client's early input just waits its turn.
    public mutating func clientSpokeEarly() -> [SessionAction] {
        guard !hasGreeted, !client.exempt, !isClosed else { return [] }
        state = .closed
        return [.reply(.talkedBeforeGreeting), .close(.pregreet)]
    }

    /// The client was silent for longer than the idle timeout.
    public mutating func clientTimedOut() -> [SessionAction] {
        clientTooSlow(.idle)
    }

    /// The client was silent too long, or too slow to finish a command line or its message (`ClientPace`).
    public mutating func clientTooSlow(_ verdict: ClientPace.Verdict) -> [SessionAction] {
        guard inputMode != .none else { return [] }
        let reply: SMTPReply
        switch verdict {
        case .inTime: return []
        case .idle: reply = .idleTimeout(hostname)
        case .dataTooSlow: reply = .dataTooSlow(hostname)
        case .commandTooSlow: reply = .commandTimeExceeded(hostname)
        }
        state = .closed
        return [.reply(reply), .close(.timeout)]
    }

    /// The server is stopping and the grace period is over: finish what the upstream is doing, then 421.
    public mutating func shutdownRequested() -> [SessionAction] {
        switch state {
        case .closed:
            return []
        case .awaitingReply, .awaitingDataReply, .awaitingFinalReply, .routingMessage, .awaitingPolicy(_, .message):
            closeAfterReply = true
            return []
        default:
            state = .closed
            return [.reply(.shuttingDown(hostname)), .close(.shutdown)]
        }
    }

    /// The client closed its connection.
    public mutating func clientClosed() -> [SessionAction] {
        guard !isClosed else { return [] }
        state = .closed
        return [.discardMessage, .close(.clientGone)]
    }

    /// The upstream's 220 with Sluice's hostname in place of the upstream's.
    func greeting(from reply: SMTPReply) -> SMTPReply {
        var lines = reply.lines
        let first = lines[0]
        if let space = first.firstIndex(of: " ") {
            lines[0] = hostname + first[space...]
        } else {
            lines[0] = hostname + " ESMTP"
        }
        return SMTPReply(code: 220, lines: lines)
    }
}
