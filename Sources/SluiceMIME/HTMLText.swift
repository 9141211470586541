/// The text a browser would show for an HTML document or fragment, for text rules to run over.
///
/// Tags, comments, `<!DOCTYPE>`, processing instructions and the contents of `script`, `style`,
/// `template` (and the other elements browsers never show: `iframe`, `noembed`, `noframes`) are
/// removed; CDATA sections, `title`, `noscript` and `textarea` keep their text. Character references
/// are decoded (every WHATWG name, numbers in decimal and hex). Inline elements insert nothing, so
/// `ca<span>si</span>no` is "casino"; block elements give a line break, table cells a tab. White
/// space is collapsed as a browser renders it (outside `pre`), `&nbsp;` is a space, and the soft
/// hyphen and zero-width characters are removed. Leading and trailing white space is dropped.
///
/// Any input is accepted, including malformed UTF-8 (which becomes U+FFFD); the work is one
/// forward pass, and the output is at most `limit` octets of UTF-8, cut before the character that
/// would not fit.
public enum HTMLText {
    /// The text of `html`, at most `limit` octets of UTF-8.
    public static func text(fromHTML html: String, limit: Int = 1 << 20) -> String {
        var html = html
        return html.withUTF8 { text(fromHTML: UnsafeRawBufferPointer($0), limit: limit) }
    }

    /// The text of the HTML in `bytes` (UTF-8 expected; malformed sequences become U+FFFD), at most
    /// `limit` octets of UTF-8.
    public static func text(fromHTML bytes: UnsafeRawBufferPointer, limit: Int = 1 << 20) -> String {
        var converter = HTMLTextConverter(input: bytes.assumingMemoryBound(to: UInt8.self), limit: limit)
        converter.run()
        return converter.writer.text
    }
}

/// One conversion: the tokenizer loop over the input, driving an `HTMLTextWriter`.
struct HTMLTextConverter {
    private let input: UnsafeBufferPointer<UInt8>
    private let end: Int
    private(set) var writer: HTMLTextWriter
    /// Open `pre`/`listing` elements and open `template` elements (end tags without a start are ignored).
    private var preformattedDepth = 0
    private var inertDepth = 0

    init(input: UnsafeBufferPointer<UInt8>, limit: Int) {
        self.input = input
        self.end = input.count
        self.writer = HTMLTextWriter(limit: limit, expectedSize: input.count)
    }

    mutating func run() {
        var index = 0
        while index < end, !writer.isFull {
            switch input[index] {
            case UInt8(ascii: "<"): index = markup(at: index)
            case UInt8(ascii: "&"): index = reference(at: index)
            default: index = text(from: index, stoppingAtMarkup: true)
            }
        }
    }

    /// Plain text from `start` to the next `&` (or `<`): the index where it stopped.
    private mutating func text(from start: Int, to limit: Int? = nil, stoppingAtMarkup: Bool) -> Int {
        let stop = limit ?? end
        var index = start + 1
        while index < stop {
            let byte = input[index]
            if byte == UInt8(ascii: "&") || (stoppingAtMarkup && byte == UInt8(ascii: "<")) { break }
            index += 1
        }
        writer.appendText(input, from: start, to: index)
        return index
    }

    /// A character reference at `start` (an `&`), or the `&` as text: the index after it.
    private mutating func reference(at start: Int, end limit: Int? = nil) -> Int {
        let stop = limit ?? end
        guard let (replacement, next) = HTMLCharacterReference.decode(input, at: start, end: stop) else {
            writer.appendText(input, from: start, to: start + 1)
            return start + 1
        }
        switch replacement {
        case .scalar(let scalar): writer.append(scalar)
        case .text(let text): for scalar in text.unicodeScalars { writer.append(scalar) }
        }
        return next
    }

    /// Text with references but no markup (`title`, `textarea`), from `start` to `stop`.
    private mutating func escapableText(from start: Int, to stop: Int) {
        var index = start
        while index < stop, !writer.isFull {
            if input[index] == UInt8(ascii: "&") {
                index = reference(at: index, end: stop)
            } else {
                index = text(from: index, to: stop, stoppingAtMarkup: false)
            }
        }
    }

    /// Whatever starts with the `<` at `start`: the index after it.
    private mutating func markup(at start: Int) -> Int {
        let next = start + 1
        guard next < end else {
            writer.appendText(input, from: start, to: end)
            return end
        }
        let byte = input[next]
        if Self.isLetter(byte) { return startTag(nameStart: next) }
        switch byte {
        case UInt8(ascii: "/"):
            let nameStart = next + 1
            guard nameStart < end else {
                writer.appendText(input, from: start, to: end)  // "</" at the end is text
                return end
            }
            if Self.isLetter(input[nameStart]) { return endTag(nameStart: nameStart) }
            if input[nameStart] == UInt8(ascii: ">") { return nameStart + 1 }  // "</>" is nothing
            return HTMLMarkupScanner.bogusCommentEnd(input, from: nameStart, end: end)
        case UInt8(ascii: "!"):
            if HTMLMarkupScanner.hasPrefix(input, at: start, end: end, "<!--") {
                return HTMLMarkupScanner.commentEnd(input, at: start, end: end)
            }
            if HTMLMarkupScanner.hasPrefix(input, at: start, end: end, "<![CDATA[") {
                let (textEnd, after) = HTMLMarkupScanner.cdata(input, contentStart: start + 9, end: end)
                writer.appendText(input, from: start + 9, to: textEnd)
                return after
            }
            return HTMLMarkupScanner.bogusCommentEnd(input, from: next + 1, end: end)
        case UInt8(ascii: "?"):
            return HTMLMarkupScanner.bogusCommentEnd(input, from: next + 1, end: end)
        default:
            writer.appendText(input, from: start, to: next)  // "<" before anything else is text
            return next
        }
    }

    private mutating func startTag(nameStart: Int) -> Int {
        guard let tag = HTMLTagScanner.tag(input, nameStart: nameStart, end: end) else { return end }
        switch HTMLElementKind.of(tag.name) {
        case .inline:
            break
        case .block:
            writer.separate(.lineBreak)
        case .cell:
            writer.separate(.tab)
        case .preformatted:
            writer.separate(.lineBreak)
            preformattedDepth += 1
            writer.preservesWhitespace = true
            writer.dropsNextLineFeed = true
        case .inert:
            inertDepth += 1
            writer.isSuppressed = true
        case .hiddenRawText:
            guard let name = tag.name else { return tag.end }
            return HTMLTagScanner.rawTextEnd(input, name: name, from: tag.end, end: end)
        case .rawText:
            guard let name = tag.name else { return tag.end }
            writer.separate(.lineBreak)
            let close = HTMLTagScanner.rawTextEnd(input, name: name, from: tag.end, end: end)
            writer.appendText(input, from: tag.end, to: close)
            return close
        case .escapableRawText:
            guard let name = tag.name else { return tag.end }
            writer.separate(.lineBreak)
            let close = HTMLTagScanner.rawTextEnd(input, name: name, from: tag.end, end: end)
            escapableText(from: tag.end, to: close)
            return close
        }
        return tag.end
    }

    private mutating func endTag(nameStart: Int) -> Int {
        guard let tag = HTMLTagScanner.tag(input, nameStart: nameStart, end: end) else { return end }
        switch HTMLElementKind.of(tag.name) {
        case .inline, .hiddenRawText:
            break
        case .block, .rawText, .escapableRawText:
            writer.separate(.lineBreak)
        case .cell:
            writer.separate(.tab)
        case .preformatted:
            preformattedDepth = max(0, preformattedDepth - 1)
            writer.preservesWhitespace = preformattedDepth > 0
            writer.separate(.lineBreak)
        case .inert:
            inertDepth = max(0, inertDepth - 1)
            writer.isSuppressed = inertDepth > 0
        }
        return tag.end
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        let folded = byte | 0x20
        return folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z")
    }
}
