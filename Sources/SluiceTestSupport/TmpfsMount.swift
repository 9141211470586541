import Foundation

/// A small tmpfs of its own, to fill a file system for real (ENOSPC) in a test. Needs root and a
/// kernel that lets this process mount; `available` says whether it can.
public struct TmpfsMount: Sendable {
    public let path: String

    public static func make(size: String) async throws -> TmpfsMount? {
        let path = try TemporaryDirectory.make(prefix: "sluice-tmpfs")
        let result = try await ExternalTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        guard result.status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
        return TmpfsMount(path: path)
    }

    public func remove() async {
        _ = try? await ExternalTool.run("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }
}
