import Foundation

/// The user name an AUTH exchange names, to mark the session as authenticated (for `auth`,
/// `auth.user`). The exchange itself is relayed verbatim and never logged.
enum AuthUser {
    static func name(mechanism: String, responses: [String]) -> String? {
        func decode(_ text: String) -> String? {
            Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let first = responses.first, let text = decode(first) else { return nil }
        switch mechanism {
        case "PLAIN":
            // authzid NUL authcid NUL password
            let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false)
            return parts.count == 3 ? String(parts[1]) : nil
        case "LOGIN":
            return text
        case "CRAM-MD5":
            // The response to the challenge: "user hexdigest" (the first line after the 334 challenge).
            return text.split(separator: " ").first.map(String.init)
        case "XOAUTH2":
            return text.split(separator: "\u{1}").first { $0.hasPrefix("user=") }.map { String($0.dropFirst(5)) }
        default:
            return nil
        }
    }
}
