import FuzzSupport
import SluiceMIME

// HTMLText.text(fromHTML:limit:), the byte and the String entry points, on any octets.
//
// Input: byte 0 picks the limit (0xF0 and above: the default 1 MiB; else -8...231); the rest is the
// HTML (any octets, malformed UTF-8 included).
//
// Properties (each from HTMLText's documentation or HTMLText*Tests):
// - it never traps; the output is at most `limit` octets of UTF-8 (OutputLimitTests), and, as it is
//   "cut before the character that would not fit", it is a prefix of the output without a limit,
//   the whole of it when that fits (textUnderTheLimitIsComplete).
// - the String and byte entry points agree (on the input when it is valid UTF-8, and always on the
//   input read as a String, malformed sequences replaced).
// - no soft hyphen or zero-width character in the output ("removed"; randomFragmentsNeverExceedTheLimit).
// - plain text: the input's characters without `<`, `&`, C0 controls other than HTML white space, DEL
//   and the invisible characters give exactly the words of the text joined by one space (white space
//   -- SP, TAB, LF, FF, CR, U+00A0 -- "collapsed as a browser renders it", leading and trailing
//   white space dropped); in particular no `<`.
// - `"a<script>" + X + "</script>b"`, with X the input without its `<`, gives "ab": a script's
//   contents never show (scriptStyleAndTemplateContentsAreDropped).

func text(_ bytes: [UInt8], limit: Int) -> String {
    bytes.withUnsafeBytes { HTMLText.text(fromHTML: $0, limit: limit) }
}

let defaultLimit = 1 << 20

func isHTMLWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x20, 0x09, 0x0A, 0x0C, 0x0D, 0xA0: return true
    default: return false
    }
}

func isInvisible(_ value: UInt32) -> Bool {
    value == 0xAD || (0x200B...0x200D).contains(value) || (0x2060...0x2064).contains(value) || value == 0xFEFF
}

/// The rendering of plain text: its words joined by one space.
func collapsed(_ scalars: [Unicode.Scalar]) -> String {
    var words: [String] = []
    var word = String.UnicodeScalarView()
    for scalar in scalars {
        if isHTMLWhitespace(scalar) {
            if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() }
        } else {
            word.append(scalar)
        }
    }
    if !word.isEmpty { words.append(String(word)) }
    return words.joined(separator: " ")
}

func show(_ text: String) -> String { hex(text.utf8, limit: 512) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let choice = input.byte()
    let html = input.rest()
    let limit = choice >= 0xF0 ? defaultLimit : Int(choice) - 8

    let full = text(html, limit: defaultLimit)
    let limited = text(html, limit: limit)
    check(limited.utf8.count <= max(0, limit), "\(limited.utf8.count) octets with limit \(limit) for \(hex(html))")
    check(full.utf8.starts(with: limited.utf8),
          "with limit \(limit) the output is not a prefix of the whole output for \(hex(html)):\n\(show(limited))\n\(show(full))")
    if full.utf8.count <= limit {
        check(limited == full, "with limit \(limit) the output is cut though the whole output (\(full.utf8.count) octets) fits, for \(hex(html))")
    }
    for scalar in full.unicodeScalars {
        check(!isInvisible(scalar.value), "invisible U+\(String(scalar.value, radix: 16)) in the output for \(hex(html))")
    }

    // The String entry point.
    let string = String(decoding: html, as: UTF8.self)
    let isValidUTF8 = Array(string.utf8) == html
    if isValidUTF8 {
        check(HTMLText.text(fromHTML: string, limit: limit) == limited,
              "the String and byte entry points differ (limit \(limit)) for \(hex(html))")
    }
    let repaired = Array(string.utf8)
    check(HTMLText.text(fromHTML: string) == text(repaired, limit: defaultLimit),
          "the String and byte entry points differ on the repaired input \(hex(repaired))")

    // Plain text.
    let plain: [Unicode.Scalar] = string.unicodeScalars.filter { scalar in
        let value = scalar.value
        if value == 0x3C || value == 0x26 || value == 0x7F || isInvisible(value) { return false }
        if value < 0x20 { return isHTMLWhitespace(scalar) }
        return true
    }
    let plainText = String(String.UnicodeScalarView(plain))
    let plainOutput = HTMLText.text(fromHTML: plainText)
    check(!plainOutput.utf8.contains(UInt8(ascii: "<")), "a < from plain text \(show(plainText)): \(show(plainOutput))")
    let expected = collapsed(plain)
    check(plainOutput == expected, """
        plain text is not rendered as its words joined by spaces:
        input:    \(show(plainText))
        output:   \(show(plainOutput))
        expected: \(show(expected))
        """)

    // Script contents.
    let hidden = html.filter { $0 != UInt8(ascii: "<") }
    let script = Array("a<script>".utf8) + hidden + Array("</script>b".utf8)
    let scriptOutput = text(script, limit: defaultLimit)
    check(scriptOutput == "ab", "script contents shown: \(hex(script)) gives \(show(scriptOutput))")
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzHTMLText_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
