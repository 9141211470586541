import Foundation

/// One message sent with Python's smtplib, a real client. The answer is "OK" (with `rcpt=code` for each
/// recipient refused while others were accepted), or the step that failed and the server's code and text:
/// "RCPT …", "MAIL …", "DATA …", "HELO …", "CONNECT …", "DISCONNECTED …".
public enum SMTPLibSender {
    public static func send(port: Int, from: String = "alice@example.org", to: [String] = ["bob@example.com"],
                            message: String = "Subject: hello\r\n\r\nbody\r\n", helo: String = "client.example") async throws -> String {
        let script = """
            import smtplib, sys, json
            args = json.loads(sys.stdin.read())
            data = args["message"].encode()
            \(sendingScript(timeout: 20))
            """
        let arguments = try JSONSerialization.data(withJSONObject: ["port": port, "from": from, "to": to, "message": message, "helo": helo])
        let result = try await ExternalTool.python(script, stdin: String(decoding: arguments, as: UTF8.self))
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + result.stderr.suffix(300)
    }

    /// Python that sends the octets in `data` with smtplib to `args["port"]` (from `args["from"]` to
    /// `args["to"]`, EHLO `args["helo"]`) and prints the outcome as `send` describes it. Shared with
    /// `MIMESender`, which builds `data` with the email package.
    static func sendingScript(timeout: Int) -> String {
        """
        try:
            s = smtplib.SMTP("127.0.0.1", args["port"], local_hostname=args["helo"], timeout=\(timeout))
            refused = s.sendmail(args["from"], args["to"], data)
            print("OK", " ".join("%s=%d" % (k, v[0]) for k, v in sorted(refused.items())))
            s.quit()
        except smtplib.SMTPRecipientsRefused as e:
            print("RCPT", " ".join("%d %s" % (v[0], v[1].decode()) for v in e.recipients.values()))
        except smtplib.SMTPSenderRefused as e:
            print("MAIL", e.smtp_code, e.smtp_error.decode())
        except smtplib.SMTPDataError as e:
            print("DATA", e.smtp_code, e.smtp_error.decode())
        except smtplib.SMTPHeloError as e:
            print("HELO", e.smtp_code, e.smtp_error.decode())
        except smtplib.SMTPConnectError as e:
            print("CONNECT", e.smtp_code, e.smtp_error.decode())
        except smtplib.SMTPServerDisconnected as e:
            print("DISCONNECTED", e)
        """
    }
}
