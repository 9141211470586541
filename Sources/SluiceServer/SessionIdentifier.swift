/// Short, unique-enough session ids for logs and trace headers, Postfix queue-id style (`5K2XQ9TD3B`).
enum SessionIdentifier {
    private static let alphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZ")

    static func make() -> String {
        var value = UInt64.random(in: 0...UInt64.max)
        var text = ""
        for _ in 0..<12 {
            text.append(alphabet[Int(value % UInt64(alphabet.count))])
            value /= UInt64(alphabet.count)
        }
        return text
    }
}
