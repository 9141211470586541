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

    public func log(event: LogEvent) {
        var suffix = ""
        if !metadata.isEmpty || !(event.metadata?.isEmpty ?? true) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            suffix = " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        LogWriter.shared.append(level: event.level.rawValue, message: event.message.description, suffix: suffix)
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
    /// Log text held while stderr is slow; beyond it lines are dropped (and counted), never buffered without bound.
    static let limit = 4 * 1024 * 1024

    /// Adds `<timestamp> <level> <message><suffix>` as one line.
    func append(level: String, message: String, suffix: String = "") {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let schedule = pending.withLockedValue { state -> Bool in
            if state.text.count + message.utf8.count + suffix.utf8.count + 32 > Self.limit {
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
                state.text.append(contentsOf: state.stamp.utf8)
                state.text.append(UInt8(ascii: " "))
                state.text.append(contentsOf: level.utf8)
                state.text.append(UInt8(ascii: " "))
                Self.appendEscaped(message.utf8, to: &state.text)
                Self.appendEscaped(suffix.utf8, to: &state.text)
                state.text.append(UInt8(ascii: "\n"))
            }
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        // At most one write every 20 ms: under load a batch holds many lines, and the loops never wait.
        if schedule { queue.asyncAfter(deadline: .now() + .milliseconds(20)) { self.drain() } }
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
        "(\(count) log line(s) dropped: stderr too slow)\n".utf8
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
