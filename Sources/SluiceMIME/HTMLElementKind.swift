/// How an element affects the text a browser shows. Unknown elements are inline: they insert
/// nothing, so `ca<span>si</span>no` and `ca<foo>si</foo>no` are both "casino".
enum HTMLElementKind: Sendable {
    /// Inserts nothing (span, b, i, a, font, u, em, strong, img, …).
    case inline
    /// Starts and ends on a line of its own (p, div, br, li, tr, h1–h6, table, …).
    case block
    /// A table cell: separated from its neighbours by a tab.
    case cell
    /// A block whose white space is kept (pre, listing).
    case preformatted
    /// Raw text that is not shown: everything up to the end tag is dropped (script, style, …).
    case hiddenRawText
    /// Raw text that is shown, without markup or references in it (xmp).
    case rawText
    /// Text shown with references decoded but no markup in it (title, textarea).
    case escapableRawText
    /// Contents parsed but not shown, however deeply nested (template).
    case inert

    /// The kind of the element named `name`; nil (a name too long to pack) is inline.
    static func of(_ name: HTMLElementName?) -> HTMLElementKind {
        guard let name else { return .inline }
        return table[name] ?? .inline
    }

    private static let table: [HTMLElementName: HTMLElementKind] = {
        var table: [HTMLElementName: HTMLElementKind] = [:]
        let blocks = """
            address article aside blockquote body br caption center dd details dialog dir div dl dt \
            fieldset figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html \
            legend li main menu nav ol optgroup option p plaintext section summary table tbody tfoot \
            thead tr ul
            """
        for name in blocks.split(separator: " ") { table[HTMLElementName(name.utf8)!] = .block }
        for name in ["td", "th"] { table[HTMLElementName(name.utf8)!] = .cell }
        for name in ["pre", "listing"] { table[HTMLElementName(name.utf8)!] = .preformatted }
        for name in ["script", "style", "iframe", "noembed", "noframes"] { table[HTMLElementName(name.utf8)!] = .hiddenRawText }
        table[HTMLElementName("xmp".utf8)!] = .rawText
        for name in ["title", "textarea"] { table[HTMLElementName(name.utf8)!] = .escapableRawText }
        table[HTMLElementName("template".utf8)!] = .inert
        return table
    }()
}
