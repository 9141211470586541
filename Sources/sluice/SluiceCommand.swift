import ArgumentParser

struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Sluice, an SMTP policy proxy: relays SMTP to an upstream MTA and applies rules at every stage.",
        subcommands: [RunCommand.self, CheckCommand.self, ExplainCommand.self, GreylistCommand.self])
}

/// A failure with its own exit status and one line of text.
struct CommandFailure: Error {
    var message: String
    var status: Int32 = 2
}
