/// Finding the end of the markup that shows nothing: comments, `<!DOCTYPE …>` and other bogus
/// comments (`<?…>` processing instructions, `</ …>`), and where CDATA sections end. Each search
/// is one forward pass; markup without its end runs to the end of the input, as in a browser.
enum HTMLMarkupScanner {
    /// `<!--` at `start`: the index after its `-->` (or `--!>`, or the abrupt `<!-->`, `<!--->`).
    static func commentEnd(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> Int {
        let body = start + 4
        if body < end, input[body] == UInt8(ascii: ">") { return body + 1 }
        if body + 1 < end, input[body] == UInt8(ascii: "-"), input[body + 1] == UInt8(ascii: ">") { return body + 2 }
        var index = body
        while index + 2 < end {
            if input[index] == UInt8(ascii: "-"), input[index + 1] == UInt8(ascii: "-") {
                let next = input[index + 2]
                if next == UInt8(ascii: ">") { return index + 3 }
                if next == UInt8(ascii: "!"), index + 3 < end, input[index + 3] == UInt8(ascii: ">") { return index + 4 }
            }
            index += 1
        }
        return end
    }

    /// A bogus comment (DOCTYPE, processing instruction, …) from `start`: the index after its `>`.
    static func bogusCommentEnd(_ input: UnsafeBufferPointer<UInt8>, from start: Int, end: Int) -> Int {
        var index = start
        while index < end, input[index] != UInt8(ascii: ">") { index += 1 }
        return min(index + 1, end)
    }

    /// The text of a CDATA section whose content starts at `start`: where it stops and the index
    /// after its `]]>`.
    static func cdata(_ input: UnsafeBufferPointer<UInt8>, contentStart start: Int, end: Int) -> (textEnd: Int, next: Int) {
        var index = start
        while index + 2 < end {
            if input[index] == UInt8(ascii: "]"), input[index + 1] == UInt8(ascii: "]"), input[index + 2] == UInt8(ascii: ">") {
                return (index, index + 3)
            }
            index += 1
        }
        return (end, end)
    }

    /// Whether the bytes at `start` are `literal` (ASCII, compared case-insensitively when asked).
    static func hasPrefix(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int, _ literal: StaticString, foldingCase: Bool = false) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard start + count <= end else { return false }
        let bytes = literal.utf8Start
        for offset in 0..<count {
            var byte = input[start + offset]
            var expected = bytes[offset]
            if foldingCase {
                byte = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                expected = expected >= UInt8(ascii: "A") && expected <= UInt8(ascii: "Z") ? expected | 0x20 : expected
            }
            if byte != expected { return false }
        }
        return true
    }
}
