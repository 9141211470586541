/// Reading a start or end tag from its name to its `>` by the WHATWG tokenizer's rules for tag
/// names and attributes, so a `>` inside a quoted attribute value does not end the tag, while one
/// in an attribute name or unquoted value does (as in a browser).
enum HTMLTagScanner {
    /// A tag that was read to its end.
    struct Tag {
        /// The element name in lower case ASCII; nil when too long to pack (it is then inline).
        let name: HTMLElementName?
        /// The index after the `>`.
        let end: Int
    }

    /// The tag whose name starts at `nameStart` (an ASCII letter); nil when the input ends first
    /// (browsers drop such a tag).
    static func tag(_ input: UnsafeBufferPointer<UInt8>, nameStart: Int, end: Int) -> Tag? {
        var index = nameStart
        var name: HTMLElementName? = HTMLElementName([])
        while index < end {
            let byte = input[index]
            if isWhitespace(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ">") { break }
            if let count = name?.count, count < HTMLElementName.capacity { name?.append(byte) } else { name = nil }
            index += 1
        }
        guard let tagEnd = attributesEnd(input, from: index, end: end) else { return nil }
        return Tag(name: name, end: tagEnd)
    }

    private enum State {
        case beforeName, name, afterName, beforeValue, doubleQuoted, singleQuoted, unquoted, afterQuoted, selfClosing
    }

    /// The index after the `>` that ends the attributes starting at `start`; nil at end of input.
    static func attributesEnd(_ input: UnsafeBufferPointer<UInt8>, from start: Int, end: Int) -> Int? {
        var state = State.beforeName
        var index = start
        while index < end {
            let byte = input[index]
            index += 1
            let space = isWhitespace(byte)
            switch state {
            case .beforeName:
                if byte == UInt8(ascii: ">") { return index }
                if byte == UInt8(ascii: "/") { state = .selfClosing } else if !space { state = .name }
            case .name:
                if byte == UInt8(ascii: ">") { return index }
                if space { state = .afterName } else if byte == UInt8(ascii: "/") { state = .selfClosing } else if byte == UInt8(ascii: "=") { state = .beforeValue }
            case .afterName:
                if byte == UInt8(ascii: ">") { return index }
                if byte == UInt8(ascii: "/") { state = .selfClosing } else if byte == UInt8(ascii: "=") { state = .beforeValue } else if !space { state = .name }
            case .beforeValue:
                if byte == UInt8(ascii: ">") { return index }
                if byte == UInt8(ascii: "\"") { state = .doubleQuoted } else if byte == UInt8(ascii: "'") { state = .singleQuoted } else if !space { state = .unquoted }
            case .doubleQuoted, .singleQuoted:
                let quote = state == .doubleQuoted ? UInt8(ascii: "\"") : UInt8(ascii: "'")
                var position = index - 1
                while position < end, input[position] != quote { position += 1 }
                guard position < end else { return nil }
                index = position + 1
                state = .afterQuoted
            case .unquoted:
                if byte == UInt8(ascii: ">") { return index }
                if space { state = .beforeName }
            case .afterQuoted:
                if byte == UInt8(ascii: ">") { return index }
                if byte == UInt8(ascii: "/") { state = .selfClosing } else if !space { state = .name }
            case .selfClosing:
                if byte == UInt8(ascii: ">") { return index }
                index -= 1  // reconsumed before an attribute name
                state = .beforeName
            }
        }
        return nil
    }

    /// Where the end tag `</name` (any case, followed by white space, `/` or `>`) that closes a raw
    /// text element starts, searching from `start`; `end` when there is none.
    static func rawTextEnd(_ input: UnsafeBufferPointer<UInt8>, name: HTMLElementName, from start: Int, end: Int) -> Int {
        var index = start
        while index < end {
            guard input[index] == UInt8(ascii: "<") else { index += 1; continue }
            let nameStart = index + 2
            let after = nameStart + name.count
            if after <= end, input[index + 1] == UInt8(ascii: "/"), matchesFolded(input, at: nameStart, name) {
                if after == end { return index }
                let next = input[after]
                if isWhitespace(next) || next == UInt8(ascii: "/") || next == UInt8(ascii: ">") { return index }
            }
            index += 1
        }
        return end
    }

    private static func matchesFolded(_ input: UnsafeBufferPointer<UInt8>, at start: Int, _ name: HTMLElementName) -> Bool {
        for offset in 0..<name.count {
            let byte = input[start + offset]
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != name.byte(at: offset) { return false }
        }
        return true
    }

    /// HTML white space: tab, line feed, form feed, carriage return, space.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
    }
}
