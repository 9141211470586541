import Foundation

/// The user name an AUTH exchange names, to mark the session as authenticated (for `auth`,
/// `auth.user`). The exchange itself is relayed verbatim and never logged.
enum AuthUser {
    static func name(mechanism: String, responses: [String]) -> String? {
        // Split on octets, not Characters: a combining mark after a separator would join it to the
        // separator's Character and hide it.
        func decode(_ text: String) -> [UInt8]? {
            Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)).map { Array($0) }
        }
        func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        guard let first = responses.first, let bytes = decode(first) else { return nil }
        switch mechanism {
        case "PLAIN":
            // authzid NUL authcid NUL password
            let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
            return parts.count == 3 ? text(parts[1]) : nil
        case "LOGIN":
            return text(bytes)
        case "CRAM-MD5":
            // The response to the challenge: "user hexdigest" (the first line after the 334 challenge).
            return bytes.split(separator: UInt8(ascii: " ")).first.map(text)
        case "XOAUTH2":
            return bytes.split(separator: 1).first { $0.starts(with: Array("user=".utf8)) }.map { text($0.dropFirst(5)) }
        default:
            return nil
        }
    }
}
