/// Every reply Sluice writes on its own behalf, in one place, with its enhanced status code.
/// Replies relayed from the upstream are not here: they travel verbatim.
extension SMTPReply {
    // Connection and session
    public static func serviceClosing(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 221, enhanced: "2.0.0", "\(hostname) closing connection")
    }
    public static func upstreamUnavailable(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.0", "\(hostname) Service not available: upstream mail server unreachable, try again later")
    }
    public static func upstreamLost(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.2", "\(hostname) Service not available: lost connection to upstream mail server")
    }
    public static func idleTimeout(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.2", "\(hostname) Error: timeout exceeded, closing connection")
    }
    public static func commandTimeExceeded(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.2", "\(hostname) Error: command not received in time, closing connection")
    }
    public static func dataTooSlow(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.4.2", "\(hostname) Error: message data arriving too slowly, closing connection")
    }
    /// A limit of `limit connections`, `connections-per-client` or `connection-rate` was reached.
    public static func tooManyConnections(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", "\(hostname) Error: too many connections, try again later")
    }

    /// `limit messages-per-session` was reached.
    public static func tooManyMessages(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", "\(hostname) Error: too many messages in one session, try again later")
    }

    /// The client sent before it was greeted (RFC 5321 §3.1; postscreen's pregreet test).
    public static let talkedBeforeGreeting = SMTPReply(code: 554, enhanced: "5.5.0", "Error: protocol error, talked before the greeting")

    public static func tooManyErrors(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.7.0", "\(hostname) Error: too many errors, closing connection")
    }
    public static func shuttingDown(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, enhanced: "4.3.2", "\(hostname) Service shutting down, try again later")
    }

    // Transaction failures caused by the upstream (never a false acknowledgement).
    public static let upstreamFailedInTransaction =
        SMTPReply(code: 451, enhanced: "4.4.2", "Error: upstream mail server failed, message not accepted; try again later")
    public static let upstreamTimedOut =
        SMTPReply(code: 451, enhanced: "4.4.7", "Error: upstream mail server timed out, message not accepted; try again later")
    public static let spoolFull =
        SMTPReply(code: 452, enhanced: "4.3.1", "Error: insufficient system storage, message not accepted; try again later")
    public static let spoolFailure =
        SMTPReply(code: 451, enhanced: "4.3.0", "Error: could not spool message, try again later")

    // DATA
    /// The upstream refused a recipient a `bcc` or `redirect` rule added: the message is not sent
    /// without its journal copy (or to the client's recipients instead of the quarantine).
    public static let routingRefused =
        SMTPReply(code: 451, enhanced: "4.3.0", "Message not accepted: the upstream refused a journal or redirect recipient, try again later")
    /// The message's content lies beyond an inspection limit whose overflow is `defer` or `reject`.
    public static let headerTooLarge = SMTPReply(code: 552, enhanced: "5.3.4", "Error: message header exceeds fixed maximum size")
    public static func inspectionDeferred(_ what: String) -> SMTPReply {
        SMTPReply(code: 451, enhanced: "4.7.1", "Message not inspected: \(what) beyond the inspection limit, try again later")
    }
    public static func inspectionRefused(_ what: String, tooBig: Bool) -> SMTPReply {
        tooBig ? SMTPReply(code: 552, enhanced: "5.3.4", "Error: message \(what) exceeds the inspection limit")
               : SMTPReply(code: 554, enhanced: "5.6.0", "Error: message \(what) exceeds the inspection limit")
    }
    public static let startMailInput = SMTPReply(code: 354, lines: ["End data with <CR><LF>.<CR><LF>"])
    public static let messageTooBig = SMTPReply(code: 552, enhanced: "5.3.4", "Error: message exceeds fixed maximum message size")
    public static let bareLineFeedInData =
        SMTPReply(code: 554, enhanced: "5.6.0", "Error: message contains a bare <LF> (only <CR><LF> ends a line); message refused")
    public static let bareCarriageReturnInData =
        SMTPReply(code: 554, enhanced: "5.6.0", "Error: message contains a bare <CR> (only <CR><LF> ends a line); message refused")
    public static let nulInData =
        SMTPReply(code: 554, enhanced: "5.6.0", "Error: message contains a NUL octet (not allowed in SMTP); message refused")
    public static func dataLineTooLong(_ limit: Int) -> SMTPReply {
        SMTPReply(code: 554, enhanced: "5.6.0", "Error: message line longer than \(limit) octets; message refused")
    }

    // Syntax and sequence
    public static let commandLineTooLong = SMTPReply(code: 500, enhanced: "5.5.2", "Error: command line too long")
    public static let bareLineFeedInCommand = SMTPReply(code: 500, enhanced: "5.5.2", "Error: bare <LF> received in command line")
    public static let bareCarriageReturnInCommand = SMTPReply(code: 500, enhanced: "5.5.2", "Error: bare <CR> received in command line")
    public static let nulInCommand = SMTPReply(code: 500, enhanced: "5.5.2", "Error: NUL octet received in command line")
    public static let unknownCommand = SMTPReply(code: 500, enhanced: "5.5.2", "Error: command not recognized")
    public static let commandNotImplemented = SMTPReply(code: 502, enhanced: "5.5.1", "Error: command not implemented")
    public static func syntaxError(_ detail: String) -> SMTPReply {
        SMTPReply(code: 501, enhanced: "5.5.4", "Syntax error: \(detail)")
    }
    public static let alreadyAuthenticated = SMTPReply(code: 503, enhanced: "5.5.1", "Error: already authenticated")
    public static let authInTransaction = SMTPReply(code: 503, enhanced: "5.5.1", "Error: AUTH not permitted during a mail transaction")
    public static let encryptionRequiredForAuth =
        SMTPReply(code: 538, enhanced: "5.7.11", "Encryption required for requested authentication mechanism")
    public static let readyToStartTLS = SMTPReply(code: 220, enhanced: "2.0.0", "Ready to start TLS")
    public static let tlsAlreadyActive = SMTPReply(code: 503, enhanced: "5.5.1", "Error: TLS already active")
    public static let tlsRequired = SMTPReply(code: 530, enhanced: "5.7.0", "Must issue a STARTTLS command first")
    public static let needHelo = SMTPReply(code: 503, enhanced: "5.5.1", "Error: send HELO/EHLO first")
    public static let needMail = SMTPReply(code: 503, enhanced: "5.5.1", "Error: need MAIL command")
    public static let nestedMail = SMTPReply(code: 503, enhanced: "5.5.1", "Error: nested MAIL command")
    public static let needRecipient = SMTPReply(code: 503, enhanced: "5.5.1", "Error: need RCPT command")
    public static let tooManyRecipients = SMTPReply(code: 452, enhanced: "4.5.3", "Error: too many recipients")
    public static let declaredSizeTooBig =
        SMTPReply(code: 552, enhanced: "5.3.4", "Error: message size exceeds fixed limit")
}

extension SMTPReply {
    /// Postfix's answers to an XCLIENT it does not take.
    public static let xclientNotAuthorized = SMTPReply(code: 550, enhanced: "5.7.0", "Error: insufficient authorization")
    public static let xclientInTransaction = SMTPReply(code: 503, enhanced: "5.5.1", "Error: MAIL transaction in progress")
}
