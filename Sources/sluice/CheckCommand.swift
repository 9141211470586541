import ArgumentParser
import Foundation
import SluiceConfig

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Load a configuration, print its diagnostics, exit 0 if it has no error, 1 if it has.")

    @Option(help: "Configuration file.")
    var config: String

    func run() throws {
        do {
            let configuration = try ConfigurationLoader.load(path: config)
            for warning in configuration.warnings { print(warning) }
            print("\(config): OK (\(configuration.files.count) file(s))")
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
