#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Dispatch
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// Sluice's log output: one line per event on stderr, `2026-11-24T04:09:26Z info 4QDS…: text`, UTC.
/// Lines are handed to `LogWriter`, which writes them from its own thread in batches: a slow stderr
/// (a pipe to a busy journal) never blocks an event loop. (swift-log's StreamLogHandler also formats
/// local time, which re-reads the zone file for every line.)
public struct SluiceLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public init(level: Logger.Level) {
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Text lines carry everything in their text (Postfix style); the metadata some events attach
    /// (`event`, `client`, `from`…) is written only in JSON lines, as keys of their own.
    public func log(event: LogEvent) {
        if LogWriter.jsonLines.load(ordering: .relaxed) {
            let merged = metadata.isEmpty ? event.metadata ?? [:] : metadata.merging(event.metadata ?? [:]) { $1 }
            LogWriter.shared.appendJSON(level: event.level.rawValue, message: event.message.description, metadata: merged)
        } else {
            LogWriter.shared.append(level: event.level.rawValue, message: event.message.description)
        }
    }

    /// `2026-11-24T04:09:26Z` for a time in seconds since 1970.
    static func timestamp(seconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// Collects log lines and writes them to stderr from a serial queue, everything waiting in one write
/// (lines reach stderr at most 20 ms late).
public final class LogWriter: Sendable {
    public static let shared = LogWriter()

    private let queue = DispatchQueue(label: "sluice.log")
    private let pending = NIOLockedValueBox(State())

    private struct State {
        /// The lines waiting, as the octets written (no string to grow, nothing to convert at the write).
        var text: [UInt8] = []
        var scheduled = false
        var dropped = 0
        /// The timestamp of the current second, formatted once.
        var second = 0
        var stamp = ""
    }
    /// `log format json`: set once at start-up, before the first line.
    public static let jsonLines = Atomic<Bool>(false)

    /// Log text held while stderr is slow; beyond it lines are dropped (and counted), never buffered without bound.
    static let limit = 4 * 1024 * 1024

    /// Adds `<timestamp> <level> <message>` as one line.
    func append(level: String, message: String) {
        appendLine(size: message.utf8.count + 32) { stamp, output in
            output.append(contentsOf: stamp.utf8)
            output.append(UInt8(ascii: " "))
            output.append(contentsOf: level.utf8)
            output.append(UInt8(ascii: " "))
            Self.appendEscaped(message.utf8, to: &output)
            output.append(UInt8(ascii: "\n"))
        }
    }

    /// Adds the line `write` makes (given this second's timestamp), unless `size` more octets would
    /// exceed what may wait.
    private func appendLine(size: Int, _ write: (String, inout [UInt8]) -> Void) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let schedule = pending.withLockedValue { state -> Bool in
            if state.text.count + size > Self.limit {
                state.dropped += 1
            } else {
                if state.dropped > 0 {
                    state.text.append(contentsOf: Self.droppedNotice(state.dropped))
                    state.dropped = 0
                }
                if now.tv_sec != state.second || state.stamp.isEmpty {
                    state.second = now.tv_sec
                    state.stamp = SluiceLogHandler.timestamp(seconds: now.tv_sec)
                }
                write(state.stamp, &state.text)
            }
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        // At most one write every 20 ms: under load a batch holds many lines, and the loops never wait.
        if schedule { queue.asyncAfter(deadline: .now() + .milliseconds(20)) { self.drain() } }
    }

    /// Adds one JSON object as a line: `{"session":"ID","time":"…","level":"info","event":"…","message":"…",…}`.
    /// The session id (a message's `ID: ` prefix) comes first; `event` is the metadata's, else `log`;
    /// the other metadata keys follow, sorted. Strings are JSON-escaped (control octets as `\u00NN`).
    func appendJSON(level: String, message: String, metadata: Logger.Metadata) {
        var head: [UInt8] = [UInt8(ascii: "{")]
        var text = Substring(message)
        if let session = Self.sessionPrefix(of: message) {
            head.append(contentsOf: #""session":"#.utf8)
            Self.appendJSONString(session, to: &head)
            head.append(UInt8(ascii: ","))
            text = message.dropFirst(session.utf8.count + 2)
        }
        var rest: [UInt8] = []
        rest.append(contentsOf: #","level":"#.utf8)
        Self.appendJSONString(Substring(level), to: &rest)
        rest.append(contentsOf: #","event":"#.utf8)
        if case .string(let event)? = metadata["event"] { Self.appendJSONString(Substring(event), to: &rest) } else { rest.append(contentsOf: #""log""#.utf8) }
        rest.append(contentsOf: #","message":"#.utf8)
        Self.appendJSONString(text, to: &rest)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "event" {
            rest.append(UInt8(ascii: ","))
            Self.appendJSONString(Substring(key), to: &rest)
            rest.append(UInt8(ascii: ":"))
            Self.appendJSON(value, to: &rest)
        }
        rest.append(contentsOf: "}\n".utf8)
        appendLine(size: head.count + rest.count + 32) { stamp, output in
            output.append(contentsOf: head)
            output.append(contentsOf: #""time":"#.utf8)
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: stamp.utf8)
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: rest)
        }
    }

    /// The `ID` of a message that starts `ID: ` with a session id (twelve octets of its alphabet).
    static func sessionPrefix(of message: String) -> Substring? {
        let utf8 = message.utf8
        guard utf8.count >= 14 else { return nil }
        let end = utf8.index(utf8.startIndex, offsetBy: 12)
        guard utf8[end] == UInt8(ascii: ":"), utf8[utf8.index(after: end)] == UInt8(ascii: " "),
              utf8[..<end].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else { return nil }
        return message[..<end]
    }

    static func appendJSON(_ value: Logger.MetadataValue, to output: inout [UInt8]) {
        switch value {
        case .string(let text): appendJSONString(Substring(text), to: &output)
        case .stringConvertible(let value): appendJSONString(Substring(value.description), to: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                appendJSON(value, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .dictionary(let values):
            output.append(UInt8(ascii: "{"))
            for (index, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                appendJSONString(Substring(key), to: &output)
                output.append(UInt8(ascii: ":"))
                appendJSON(value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes and backslashes escaped, every control octet as `\u00NN` (no line breaks).
    static func appendJSONString(_ text: Substring, to output: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                output.append(UInt8(ascii: "\\"))
                output.append(byte)
            case 0..<0x20, 0x7F:
                output.append(contentsOf: "\\u00".utf8)
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0xF)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends `text` with every control octet (CR, LF, TAB, ESC, DEL…) written as `\xNN`: what a client
    /// sent (a HELO name, an address, an upstream's reply text) can never start a log line of its own or
    /// drive the terminal that shows it. The usual line has none and is copied as it is.
    static func appendEscaped(_ text: String.UTF8View, to output: inout [UInt8]) {
        guard text.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            output.append(contentsOf: text)
            return
        }
        let digits = Array("0123456789abcdef".utf8)
        for byte in text {
            if byte < 0x20 || byte == 0x7F {
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            } else {
                output.append(byte)
            }
        }
    }

    /// `text` as it goes to the log.
    static func escaped(_ text: String) -> String {
        var output: [UInt8] = []
        appendEscaped(text.utf8, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// The line that stands for lines dropped while stderr was too slow.
    private static func droppedNotice(_ count: Int) -> String.UTF8View {
        if jsonLines.load(ordering: .relaxed) {
            return "{\"level\":\"warning\",\"event\":\"log-dropped\",\"message\":\"\(count) log line(s) dropped: stderr too slow\"}\n".utf8
        }
        return "(\(count) log line(s) dropped: stderr too slow)\n".utf8
    }

    /// Writes whatever is waiting, now (at exit).
    public func flush() {
        queue.sync { self.drain() }
    }

    private func drain() {
        let bytes = pending.withLockedValue { state -> [UInt8] in
            var text: [UInt8] = []
            swap(&text, &state.text)
            state.text.reserveCapacity(text.count) // the next batch is likely as large: no regrowth
            if state.dropped > 0 {
                text.append(contentsOf: Self.droppedNotice(state.dropped))
                state.dropped = 0
            }
            state.scheduled = false
            return text
        }
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}
