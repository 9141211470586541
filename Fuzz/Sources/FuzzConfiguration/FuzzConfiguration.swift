import FuzzSupport
import SluiceConfig
import SluicePolicy

// ConfigurationLoader.load(text:file:) — lexer, parser, list and rule compilers, PCRE2 patterns — on
// arbitrary configuration text.
//
// The text is loaded as if from a file in a directory that does not exist, and the words "include" and
// "file" are defused first ("inc1ude", "fi1e"): the fuzzer would otherwise soon write
// `include "/dev/zero"` or `list x pcre file "/dev/stdin"` and test the machine instead of the parser.
//
// Properties:
// - loading never traps; a configuration either loads (warnings only) or throws all its errors.
// - every diagnostic names the file and a line and column inside the text (line 1...number of lines,
//   column 1...characters of that line + 1; lines end at LF).
// - line ends do not matter: the same text with CRLF line ends gives the same diagnostics, and loads
//   or fails the same way.

let file = "/nonexistent-sluice-fuzz/fuzz.conf"

func diagnostics(_ text: String) -> (loaded: Bool, [Diagnostic]) {
    do {
        let configuration = try ConfigurationLoader.load(text: text, file: file)
        return (true, configuration.warnings)
    } catch {
        return (false, error.diagnostics)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var text = String(decoding: FuzzInput(data, count).bytes, as: UTF8.self)
    text = text.replacing("include", with: "inc1ude").replacing("file", with: "fi1e")
    // Lines end at every LF; a column counts characters, as the lexer does (a CR before the LF counts one).
    let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).count }

    let (loaded, found) = diagnostics(text)
    check(loaded || found.contains { $0.severity == .error }, "the configuration failed without an error")
    for diagnostic in found {
        let location = diagnostic.location
        check(location.file == file, "diagnostic in another file: \(diagnostic)")
        check(location.line >= 1 && location.line <= lines.count,
              "line \(location.line) of \(lines.count): \(diagnostic)\ntext: \(hex(text.utf8, limit: 1024))")
        check(location.column >= 1 && location.column <= lines[location.line - 1] + 1,
              "column \(location.column) of a \(lines[location.line - 1])-character line: \(diagnostic)\ntext: \(hex(text.utf8, limit: 1024))")
    }

    if !text.utf8.contains(13), text.utf8.contains(10) {
        let crlf = text.replacing("\n", with: "\r\n")
        let (crlfLoaded, crlfFound) = diagnostics(crlf)
        check(crlfLoaded == loaded && crlfFound == found, """
            CRLF line ends change the result for \(hex(text.utf8, limit: 1024)):
            LF:   \(loaded ? "loads" : "fails") \(found)
            CRLF: \(crlfLoaded ? "loads" : "fails") \(crlfFound)
            """)
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzConfiguration_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
