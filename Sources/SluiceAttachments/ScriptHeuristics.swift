/// Cheap checks for scripts that libmagic reports as plain text or HTML: Windows batch, WSH (VBScript/JScript),
/// PowerShell and HTML Applications. They look at the first `window` bytes only, ASCII case-insensitively, and
/// read UTF-16LE text (with its byte-order mark, as PowerShell and Notepad save it) through its low bytes.
enum ScriptHeuristics {
    /// How much of the content is examined.
    static let window = 64 << 10

    /// Markers that on their own make a text a script.
    static let markers: [[UInt8]] = [
        "@echo off",                            // batch
        "wscript.", "cscript.", "createobject(", "activexobject(", "getobject(\"winmgmts",  // WSH
        "<hta:application",                     // HTA
        "invoke-expression", "-encodedcommand", "frombase64string(", "downloadstring(", "downloadfile(",
        "net.webclient", "set-executionpolicy", "start-process ", "invoke-webrequest",  // PowerShell
    ].map { Array($0.utf8) }

    /// Whether the text in `bytes` looks like one of the scripts above.
    static func looksLikeScript(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let text = foldedPrefix(bytes)
        if text.starts(with: Array("#!".utf8)) { return true }
        if markers.contains(where: { contains(text, $0) }) { return true }
        // An HTML page whose script is VBScript or JScript (an HTA without its tag, a WSH-style dropper).
        return contains(text, Array("<script".utf8))
            && (contains(text, Array("vbscript".utf8)) || contains(text, Array("jscript".utf8)))
    }

    /// The first `window` bytes, ASCII lower-cased, without a UTF-8 BOM, UTF-16LE reduced to its low bytes.
    static func foldedPrefix(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var source = Array(bytes.prefix(window))
        if source.starts(with: [0xFF, 0xFE]) {
            source = stride(from: 2, to: source.count - 1, by: 2).map { source[$0 + 1] == 0 ? source[$0] : 0x3F }
        } else if source.starts(with: [0xEF, 0xBB, 0xBF]) {
            source.removeFirst(3)
        }
        for index in source.indices where source[index] >= 65 && source[index] <= 90 { source[index] += 32 }
        return source
    }

    /// Naive substring search (the needles are short and the window small).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = 1
                while matched < needle.count && haystack[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            index += 1
        }
        return false
    }
}
