import Foundation

/// Builds a message with Python's `email` package (the way real mail software writes MIME) and sends
/// it with smtplib: `build` is Python code that leaves the message's octets in `data` (it may use
/// `EmailMessage`, `MIMEText`, `base64`, `zipfile`, `io` and the `raw(text)` helper for hand-written
/// sloppy messages). Prints what `SMTPLibSender` prints (`OK`, `DATA 550 …`).
public enum MIMESender {
    public static func send(port: Int, from: String = "alice@example.org", to: [String] = ["bob@example.com"],
                            build: String) async throws -> String {
        let script = """
            import base64, io, json, smtplib, sys, tarfile, zipfile
            from email.message import EmailMessage
            from email.mime.multipart import MIMEMultipart
            from email.mime.text import MIMEText
            from email.mime.application import MIMEApplication
            from email.mime.message import MIMEMessage
            from email import policy
            args = json.loads(sys.stdin.read())
            def raw(text):
                return text.replace("\\r\\n", "\\n").replace("\\n", "\\r\\n").encode("utf-8")
            def zipped(members, password=None):
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    for name, content in members:
                        archive.writestr(name, content)
                return buffer.getvalue()
            \(build)
            if isinstance(data, EmailMessage) or hasattr(data, "as_bytes"):
                data = data.as_bytes(policy=policy.SMTP)
            \(SMTPLibSender.sendingScript(timeout: 60))
            """
        let arguments = try JSONSerialization.data(withJSONObject: ["port": port, "from": from, "to": to, "helo": "client.example"])
        let result = try await ExternalTool.python(script, stdin: String(decoding: arguments, as: UTF8.self))
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + result.stderr.suffix(600)
    }
}
