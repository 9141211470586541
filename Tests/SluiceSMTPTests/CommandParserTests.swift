import SluiceSMTP
import Testing

private func parse(_ line: String) throws -> SMTPCommand { try CommandParser.parse(Array(line.utf8)) }

@Suite struct CommandParserTests {
    @Test func verbsAreCaseInsensitiveWholeWords() throws {
        #expect(try parse("helo mx.example.com") == .helo("mx.example.com"))
        #expect(try parse("EHLO [127.0.0.1]") == .ehlo("[127.0.0.1]"))
        #expect(try parse("HELOX foo") == .unknown(verb: "HELOX"))
        #expect(try parse("XFORWARD ADDR=1.2.3.4") == .unknown(verb: "XFORWARD"), "never taken from a client")
    }

    @Test func mailFromWithParameters() throws {
        let command = try parse("MAIL FROM:<Alice.Smith@Example.COM> SIZE=1000 BODY=8BITMIME")
        guard case .mail(let path, let parameters) = command else { Issue.record("not MAIL"); return }
        #expect(path.mailbox?.localPart == "Alice.Smith", "local part keeps its case")
        #expect(path.mailbox?.normalizedDomain == "example.com")
        #expect(parameters.size == 1000)
        #expect(parameters["body"]?.value == "8BITMIME")
        #expect(command.wireLine == "MAIL FROM:<Alice.Smith@Example.COM> SIZE=1000 BODY=8BITMIME")
    }

    @Test func nullSenderAndSpaceAfterColon() throws {
        #expect(try parse("MAIL FROM:<>") == .mail(.null, ESMTPParameters()))
        #expect(try parse("mail from: <a@b.c>").wireLine == "MAIL FROM:<a@b.c>")
    }

    @Test func everyVerbIsRelayedAsWrittenWithoutSourceRoutes() throws {
        for line in ["HELO mx.example", "EHLO [127.0.0.1]", "MAIL FROM:<> BODY=8BITMIME", "RCPT TO:<Postmaster>",
                     "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.example", "DATA", "RSET", "NOOP",
                     "NOOP hello", "QUIT", "VRFY someone", "HELP", "HELP DATA", "STARTTLS", "AUTH PLAIN"] {
            #expect(try parse(line).wireLine == line)
        }
        #expect(ReversePath.null.description == "<>")
        #expect(ForwardPath.postmaster("postmaster").description == "<postmaster>")
        #expect(SMTPReply(code: 250, lines: ["first", "2.0.0 last"]).description == "250 first / 2.0.0 last")
    }

    @Test func rcptPostmasterAndSourceRoute() throws {
        #expect(try parse("RCPT TO:<Postmaster>") == .rcpt(.postmaster("Postmaster"), ESMTPParameters()))
        let routed = try parse("RCPT TO:<@relay.one,@relay.two:user@final.example>")
        guard case .rcpt(.path(let path), _) = routed else { Issue.record("not RCPT"); return }
        #expect(path.sourceRoute == ["relay.one", "relay.two"])
        #expect(path.mailbox.domain == "final.example")
        #expect(routed.wireLine == "RCPT TO:<user@final.example>", "the source route is not relayed")
    }

    @Test func quotedLocalPart() throws {
        let command = try parse(#"RCPT TO:<"john doe"@example.com> NOTIFY=NEVER"#)
        guard case .rcpt(.path(let path), let parameters) = command else { Issue.record("not RCPT"); return }
        #expect(path.mailbox.localPart == #""john doe""#)
        #expect(path.mailbox.isQuoted)
        #expect(parameters["NOTIFY"]?.value == "NEVER")
    }

    @Test(arguments: [
        "MAIL FROM:a@b.c", "MAIL FROM:<a@b.c", "MAIL TO:<a@b.c>", "MAIL FROM:<a@@b.c>", "MAIL FROM:<a@b.c> SIZE=abc",
        "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", "RCPT TO:<a..b@c.d>", "RCPT TO:<@x:>", "HELO", "EHLO a b",
        "DATA now", "QUIT please", "RSET x", "VRFY", "MAIL FROM:<a@b.c>junk",
    ])
    func malformedCommandsAreSyntaxErrors(_ line: String) {
        #expect(throws: CommandParser.Error.self) { try parse(line) }
    }

    @Test func extraAtSignsStayInTheLocalPartForRelayHygiene() throws {
        guard case .rcpt(.path(let path), _) = try parse("RCPT TO:<user@host@example.com>") else { Issue.record("not RCPT"); return }
        #expect(path.mailbox.localPart == "user@host")
        #expect(path.mailbox.domain == "example.com")
    }

    @Test func argumentFreeCommands() throws {
        #expect(try parse("DATA") == .data)
        #expect(try parse("rset") == .rset)
        #expect(try parse("QUIT") == .quit)
        #expect(try parse("NOOP") == .noop(nil))
        #expect(try parse("HELP DATA") == .help("DATA"))
        #expect(try parse("VRFY postmaster") == .vrfy("postmaster"))
        #expect(try parse("STARTTLS") == .startTLS)
    }
}
