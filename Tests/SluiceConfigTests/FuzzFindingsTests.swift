import SluiceConfig
import SluicePolicy
import Testing

/// Defects the configuration fuzzer found (Fuzz/Crashes/FuzzConfiguration-*), as ordinary tests.
@Suite struct ConfigurationFuzzFindingsTests {
    private func diagnostics(_ text: String) -> [Diagnostic] {
        do {
            _ = try ConfigurationLoader.load(text: text, file: "f.conf")
            return []
        } catch {
            return error.diagnostics
        }
    }

    /// "\r\n" is one Character: a file with CRLF line ends was read as one line, and a comment on its
    /// first line turned the whole file into a comment (no rules: an open relay).
    @Test func aFileWithCRLFLineEndsHasItsLinesAndRules() throws {
        let lf = "# Sluice rules\nlist local domain { example.com }\nstage rcpt\n  reject rcpt.domain not in local \"554 5.7.1 Relay access denied\"\n"
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        let configuration = try ConfigurationLoader.load(text: crlf, file: "f.conf")
        #expect(configuration.ruleSet.rules[.rcpt]?.count == 1)
        #expect(configuration.ruleSet.rules[.rcpt]?.first?.location.line == 4)
    }

    @Test func oneCRLFInAnLFFileDoesNotShiftLaterLineNumbers() {
        let found = diagnostics("listen 127.0.0.1:2525\r\nthreads 4\nx\nhostname mx.example.com extra\n")
        #expect(found.map { $0.location.line } == [3, 4], "got \(found)")
    }

    /// PCRE2 reports its error offset in octets; the column is in characters.
    @Test func aPatternErrorColumnCountsCharactersNotOctets() {
        let found = diagnostics("stage mail\n  reject sender ~ /ééé(/\n")
        #expect(found.count == 1)
        let line = "  reject sender ~ /ééé(/"
        #expect((found.first?.location.column ?? 0) <= line.count + 1, "column \(found.first?.location.column ?? 0) is past the line")
        #expect(found.first?.location.column == 24, "the error is at the end of the pattern: got \(found)")
    }

    @Test func headerNamesAndValuesAreCheckedAtLoad() {
        let bad = diagnostics("""
            stage header
              add header "X-Bad Name" "v"
              add header "X-Colon:" "v"
              add header "" "v"
              remove header "X-\u{1}"
              replace header "X-Ok" "line\rtwo"
            """)
        #expect(bad.map { $0.location.line } == [2, 3, 4, 5, 6], "got \(bad)")
        #expect(bad.first?.message.contains("not a header field name") == true)
        #expect(diagnostics("acknowledge open-relay\nstage header\n  add header \"X-Ok\" \"fine value\"\n  remove header \"X-Internal-*\"\n").isEmpty)
    }
}
