import CTestSupport
import Foundation
import NIOConcurrencyHelpers

/// A program started with `posix_spawn`, its stdout and stderr on pipes, every other descriptor of the
/// test process closed in the child. Foundation's `Process.run()` crashed here (in its memcpy) while
/// other tests opened and closed hundreds of sockets: it adds one close action per open descriptor,
/// counted before and used after.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let status = NIOLockedValueBox<Int32?>(nil)
    /// Read ends, or -1.
    let stdoutFD: Int32
    let stderrFD: Int32

    /// `environment`: variables added to (or replacing those of) this process's environment.
    public static func spawn(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                             captureStdout: Bool = true, environment: [String: String] = [:]) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard sluice_pipe_cloexec(&fds) == 0 else { throw ToolMissing(name: "\(executable) (pipe: errno \(errno))") }
            return (fds[0], fds[1])
        }
        let out = captureStdout ? try makePipe() : (read: -1, write: -1)
        let err = try makePipe()
        let input = stdin != nil ? try makePipe() : (read: -1, write: -1)
        if input.read >= 0 {
            posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if out.write >= 0 {
            posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        sluice_spawn_close_from(&actions, 3)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        var envp: [UnsafeMutablePointer<CChar>?] = []
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            merged.merge(environment) { $1 }
            envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { envp.forEach { free($0) } }
        let spawned = environment.isEmpty ? posix_spawn(&pid, executable, &actions, nil, argv, environ)
            : posix_spawn(&pid, executable, &actions, nil, argv, envp)
        for fd in [out.write, err.write, input.read] where fd >= 0 { close(fd) }
        guard spawned == 0 else {
            for fd in [out.read, err.read, input.write] where fd >= 0 { close(fd) }
            throw ToolMissing(name: "\(executable) (spawn failed: errno \(spawned))")
        }
        if let stdin, input.write >= 0 {
            let fd = input.write
            DispatchQueue.global().async {
                stdin.withUnsafeBytes { bytes in
                    var done = 0
                    while done < bytes.count {
                        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                        if n < 0 { if errno == EINTR { continue } else { break } }
                        done += n
                    }
                }
                close(fd)
            }
        }
        return ChildProcess(pid: pid, stdoutFD: out.read, stderrFD: err.read)
    }

    private init(pid: pid_t, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    /// True until the child exited (and was reaped).
    public var isRunning: Bool { exitStatus == nil }

    /// The exit status (128 + N for a signal), once it exited.
    public var exitStatus: Int32? {
        status.withLockedValue { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                }
            }
            return status
        }
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Calls `handle` with each chunk the child writes to `fd` until it closes it, on a thread of its own.
    static func drain(_ fd: Int32, _ handle: @escaping @Sendable (Data) -> Void, done: @escaping @Sendable () -> Void = {}) {
        guard fd >= 0 else { return done() }
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                handle(Data(buffer[..<n]))
            }
            close(fd)
            done()
        }
    }
}
