import Foundation

/// Counts the file descriptors of an in-process Sluice, told apart from the test's own: its accepted
/// client sockets (local port = Sluice's), its upstream connections (remote port = the upstream's) and
/// its spool files (open files under the spool directory, unlinked or not). Read from /proc, so a
/// leaked descriptor shows even when every Swift object was freed.
public struct DescriptorCensus: Equatable, Sendable, CustomStringConvertible {
    public var clientSockets = 0
    public var upstreamSockets = 0
    public var spoolFiles = 0

    public var total: Int { clientSockets + upstreamSockets + spoolFiles }
    public var description: String { "client sockets \(clientSockets), upstream sockets \(upstreamSockets), spool files \(spoolFiles)" }

    public static func take(sluicePort: Int, upstreamPort: Int, spoolDirectory: String) -> DescriptorCensus {
        var census = DescriptorCensus()
        let sockets = tcpSockets()
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { continue }
            if target.hasPrefix(spoolDirectory + "/") {
                census.spoolFiles += 1
            } else if target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()),
                      let (local, remote) = sockets[inode] {
                if local == sluicePort && remote != 0 { census.clientSockets += 1 }
                if remote == upstreamPort { census.upstreamSockets += 1 }
            }
        }
        return census
    }

    /// inode → (local port, remote port) for every TCP socket of this network namespace.
    private static func tcpSockets() -> [UInt64: (Int, Int)] {
        var result: [UInt64: (Int, Int)] = [:]
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, let inode = UInt64(fields[9]),
                      let local = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                      let remote = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) else { continue }
                result[inode] = (local, remote)
            }
        }
        return result
    }
}
