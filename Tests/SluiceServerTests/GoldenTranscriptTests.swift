import Foundation
import SluiceTestSupport
import Testing

/// Scenario files in Golden/: a configuration and a transcript of client lines (C:) and the reply each
/// exchange must produce (S:, a prefix of the final reply line), run against the real relay.
@Suite struct GoldenTranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static var scenarios: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".scenario") }.sorted()
    }

    @Test(arguments: scenarios)
    func scenarioProducesItsTranscript(_ name: String) async throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        let sections = text.components(separatedBy: "== ")
        let config = sections.first { $0.hasPrefix("config\n") }.map { String($0.dropFirst("config\n".count)) } ?? ""
        let transcript = try #require(sections.first { $0.hasPrefix("transcript\n") })
        try await withRules(config) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            var expected = 0
            for (number, line) in transcript.split(separator: "\n").dropFirst().enumerated() {
                if line.hasPrefix("C:") {
                    let sent = line.dropFirst(2).drop { $0 == " " }
                    try await client.send(sent + "\r\n")
                } else if line.hasPrefix("S:") {
                    expected += 1
                    let want = String(line.dropFirst(2).drop { $0 == " " })
                    let replies = await client.waitForReplies(expected)
                    let got = replies.count >= expected ? replies[expected - 1] : "(no reply)"
                    #expect(got.hasPrefix(want), "\(name) line \(number + 2): expected '\(want)', got '\(got)'")
                    if !got.hasPrefix(want) { break }
                }
            }
            await client.close()
            _ = upstream
        }
    }
}
