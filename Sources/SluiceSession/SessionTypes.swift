import SluiceSMTP

/// What a session needs to know about the server it belongs to.
public struct SessionConfiguration: Sendable {
    public var hostname: String
    public var limits: Limits

    public init(hostname: String, limits: Limits = Limits()) {
        self.hostname = hostname
        self.limits = limits
    }
}

/// The client's HELO/EHLO, once the upstream accepted it.
public struct Greeting: Hashable, Sendable {
    public var name: String
    public var extended: Bool

    public init(name: String, extended: Bool) {
        self.name = name
        self.extended = extended
    }
}

/// One mail transaction: from MAIL to the end of the message, RSET or a new EHLO.
public struct Transaction: Hashable, Sendable {
    public var sender: ReversePath
    public var parameters: ESMTPParameters
    /// Recipients the upstream accepted; the message goes to these only.
    public var recipients: [ForwardPath] = []
    /// RCPT commands refused (by Sluice or the upstream).
    public var refusedRecipients = 0

    public init(sender: ReversePath, parameters: ESMTPParameters) {
        self.sender = sender
        self.parameters = parameters
    }
}

/// Why the upstream can no longer answer.
public enum UpstreamFailure: Hashable, Sendable {
    case connectFailed(String)
    case closed
    case timedOut
    case protocolError(String)
}

/// Which upstream timeout applies to a command that was sent.
public enum UpstreamWait: Hashable, Sendable {
    case command
    case endOfData
}

/// How a transaction ended, for the one log line it gets.
public struct TransactionOutcome: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable {
        case delivered, refused, failed
    }
    public var status: Status
    public var greeting: Greeting
    public var transaction: Transaction
    public var size: Int
    public var reply: SMTPReply
}

/// What the channel handler must do. Replies are buffered and flushed when the handler runs out of
/// work, so a pipelined group gets its replies in one write.
public enum SessionAction: Hashable, Sendable {
    /// Write this reply to the client.
    case reply(SMTPReply)
    /// Send this command upstream and wait for its reply.
    case forward(SMTPCommand, UpstreamWait)
    /// Client input is now message content until CRLF.CRLF (a 354 was just queued).
    case receiveData
    /// Write the trace header, the spooled message and the final dot upstream, then wait.
    case sendMessage(greeting: Greeting, transaction: Transaction)
    /// Release the spooled message.
    case discardMessage
    /// Log how a transaction ended.
    case outcome(TransactionOutcome)
    /// Flush replies and close the client and the upstream connections.
    case close
}
