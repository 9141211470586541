import ArgumentParser
import Foundation
import Logging
import SluiceConfig
import SluiceServer
import SluiceSMTP

/// Exit after writing the log lines still waiting (the log writer batches them).
func finish(_ status: Int32) -> Never {
    LogWriter.shared.flush()
    exit(status)
}

/// The command, on Swift's concurrency pool. Every user error ends here as one clear line on stderr and
/// exit status 2 (`--help` exits 0).
@Sendable func main() async {
do {
    var command = try SluiceCommand.parseAsRoot()
    if let run = command as? RunCommand {
        try await run.execute()
    } else if let asyncCommand = command as? AsyncExecutable {
        try command.validate()
        try await asyncCommand.execute()
    } else {
        try command.run()
    }
} catch let error as ConfigurationError {
    FileHandle.standardError.write(Data((error.description + "\n").utf8))
    finish(2)
} catch let code as ExitCode {
    finish(code.rawValue)
} catch let error as CommandFailure {
    FileHandle.standardError.write(Data("sluice: error: \(error.message)\n".utf8))
    finish(error.status)
} catch {
    let code = SluiceCommand.exitCode(for: error)
    if code == .success {
        print(SluiceCommand.fullMessage(for: error))
        finish(0)
    }
    let message = SluiceCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("sluice: error: \(message)\n".utf8))
    finish(2)
}
finish(0)
}

// Not an async top level: Swift's async main parks the main thread in libdispatch's exiting state,
// where glibc's set*id broadcast no longer reaches it, and `user NAME` would leave that thread (the
// one ps and /proc show) as root. The main thread waits here as an ordinary thread instead.
let mainDone = DispatchSemaphore(value: 0)
Task.detached { await main(); mainDone.signal() }
mainDone.wait()
finish(0)
