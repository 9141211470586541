import Foundation
@testable import SluiceConfig
import Testing

/// docs/configuration.md against the parser's own keyword tables: every keyword has an entry, and
/// every entry is a keyword. The reference cannot drift from the code.
@Suite struct ReferenceDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `### …` headings of one `## Section`, without backticks and notes in parentheses.
    static func entries(_ section: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        guard let start = text.range(of: "## \(section)\n") else { return [] }
        let rest = text[start.upperBound...]
        let body = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        return body.split(separator: "\n").filter { $0.hasPrefix("### ") }.map { line in
            let heading = line.dropFirst(4).split(separator: "(")[0].trimmingCharacters(in: .whitespaces)
            return heading.replacingOccurrences(of: "`", with: "")
        }
    }

    @Test func everySettingIsDocumentedAndNothingElse() throws {
        let settings = ConfigurationLoader.settings.filter { !RuleParser.verbs.contains($0) || $0 == "greylist" || $0 == "log" }
        #expect(Set(try Self.entries("Settings")) == Set(settings))
    }

    @Test func everyVerbLimitTimeoutAndGreylistSettingIsDocumented() throws {
        #expect(Set(try Self.entries("Rule verbs")) == Set(RuleParser.verbs))
        #expect(Set(try Self.entries("Limits")) == Set(ConfigurationLoader.limitNames.map { "limit \($0)" }))
        #expect(Set(try Self.entries("Timeouts")) == Set(ConfigurationLoader.timeoutNames.map { "timeout \($0)" }))
        #expect(Set(try Self.entries("Greylisting")) == Set(GreylistSettingsParser.names.map { "greylist \($0)" }))
    }
}
