/// A host and port as an administrator writes it: `127.0.0.1:25`, `[::1]:2525`, `mx.example.com:25`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case missingPort(String)
        case badPort(String)
        case badHost(String)

        public var description: String {
            switch self {
            case .missingPort(let text): return "'\(text)' has no port (write HOST:PORT, or [IPv6]:PORT)"
            case .badPort(let text): return "'\(text)' has an invalid port (0-65535)"
            case .badHost(let text): return "'\(text)' has an invalid host"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .badHost(text) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .missingPort(text) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
            host = text[..<colon]
            guard !host.contains(":") else { throw .badHost(text) } // bare IPv6 needs brackets
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { throw .badHost(text) }
        guard let port = Int(portText), (0...65535).contains(port) else { throw .badPort(text) }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
