import SluiceMIME
import Testing

private func text(_ html: String, limit: Int = 1 << 20) -> String { HTMLText.text(fromHTML: html, limit: limit) }

@Suite struct MarkupRemovalTests {
    @Test func tagsAreRemoved() {
        #expect(text("<b>bold</b> and <i>italic</i>") == "bold and italic")
    }

    @Test func commentsAreRemovedIncludingAbruptAndUnterminatedOnes() {
        #expect(text("a<!-- hidden -->b") == "ab")
        #expect(text("a<!---->b<!-->c<!--->d") == "abcd")
        #expect(text("a<!-- x --!>b") == "ab")
        #expect(text("a<!-- never closed casino") == "a")
        #expect(text("a<!-- <p>x</p> -- still -->b") == "ab")
    }

    @Test func doctypeAndProcessingInstructionsAreRemoved() {
        #expect(text("<!DOCTYPE html><?xml version=\"1.0\"?><p>hi</p>") == "hi")
        #expect(text("<!doctype html>x") == "x")
    }

    @Test func cdataKeepsItsText() {
        #expect(text("a<![CDATA[ <b>not a tag</b> ]]>b") == "a <b>not a tag</b> b")
        #expect(text("a<![CDATA[unterminated") == "aunterminated")
    }

    @Test func scriptStyleAndTemplateContentsAreDropped() {
        #expect(text("a<script>document.write('x<p>')</script>b") == "ab")
        #expect(text("a<SCRIPT type=text/javascript>var s = '</scr' + 'ipt>';</SCRIPT >b") == "ab")
        #expect(text("a<style>p { color: red }</style>b") == "ab")
        #expect(text("a<template><p>x<template>y</template>z</p></template>b") == "ab")
        #expect(text("a<iframe>fallback</iframe>b") == "ab")
    }

    @Test func titleNoscriptAndTextareaKeepTheirText() {
        #expect(text("<html><head><title>Big &amp; Bold</title></head><body>x</body>") == "Big & Bold\nx")
        #expect(text("a<noscript>enable js</noscript>b") == "aenable jsb")
        #expect(text("<textarea><b>&lt;tag&gt;</b></textarea>") == "<b><tag></b>")
    }

    @Test func elementNamesAreCaseInsensitive() {
        #expect(text("a<DIV>b</Div>c<ScRiPt>x</sCrIpT>d") == "a\nb\ncd")
    }

    @Test func quotedAttributeValuesMayContainAngleBrackets() {
        #expect(text("<a title=\"x > y\" href='a>b'>link</a>") == "link")
        #expect(text("<img alt=\"1 > 0\">after") == "after")
    }

    @Test func aQuoteInsideAnAttributeNameDoesNotHideText() {
        // Browsers end this tag at the first ">": the quote is part of an attribute name.
        #expect(text("<a =\">\"casino") == "\"casino")
        #expect(text("<a b=x\"y>text") == "text")
    }

    @Test func anUnterminatedTagAtTheEndIsDropped() {
        #expect(text("visible <a href=\"x") == "visible")
        #expect(text("visible <span") == "visible")
    }

    @Test func lessThanNotStartingMarkupIsText() {
        #expect(text("1 < 2 and 3 <4 and a<=b") == "1 < 2 and 3 <4 and a<=b")
        #expect(text("trailing <") == "trailing <")
        #expect(text("x </") == "x </")
        #expect(text("a</>b") == "ab")
        #expect(text("a</ bogus>b") == "ab")
    }
}

@Suite struct CharacterReferenceTests {
    @Test func numericReferencesAreDecoded() {
        #expect(text("cas&#105;no c&#x61;sino c&#X61;sino") == "casino casino casino")
    }

    @Test func numericReferencesWithoutSemicolonAreDecoded() {
        #expect(text("cas&#105no &#x41 &#x41B") == "casino A \u{41B}")
    }

    @Test func invalidCodePointsBecomeReplacementCharacters() {
        #expect(text("&#0;|&#xD800;|&#x110000;|&#99999999999999;") == "\u{FFFD}|\u{FFFD}|\u{FFFD}|\u{FFFD}")
    }

    @Test func c1ControlsAreReadAsWindows1252() {
        #expect(text("&#128;&#150;&#x99;") == "€–™")
    }

    @Test func namedReferencesAreDecoded() {
        #expect(text("&amp; &lt; &gt; &quot; &apos; &copy; &reg; &eacute; &Eacute; &szlig;") == "& < > \" ' © ® é É ß")
        #expect(text("&alpha;&Omega;&pi;&sum;&infin;&ne;&le;&rArr;&hearts;&euro;&trade;&hellip;&mdash;") == "αΩπ∑∞≠≤⇒♥€™…—")
    }

    @Test func html5NamedReferencesAreDecoded() {
        #expect(text("&Tab;&excl;&commat;&lbrack;&NotEqualTilde;&imath;&check;") == "!@[≂̸ı✓")
    }

    @Test func legacyNamesWorkWithoutSemicolonOthersDoNot() {
        #expect(text("&amp &copy2026 &eacutex") == "& ©2026 éx")
        #expect(text("&notit; &notin;") == "¬it; ∉")
        #expect(text("&alpha &hellip") == "&alpha &hellip")
    }

    @Test func unknownOrIncompleteReferencesStayText() {
        #expect(text("AT&T &unknown; & &# &#x; &#xZ &") == "AT&T &unknown; & &# &#x; &#xZ &")
    }

    @Test func nonBreakingSpacesBecomeCollapsibleSpaces() {
        #expect(text("a&nbsp;b&nbsp;&nbsp; c\u{A0}d") == "a b c d")
    }

    @Test func decodedMarkupCharactersAreText() {
        #expect(text("&lt;script&gt;alert(1)&lt;/script&gt;") == "<script>alert(1)</script>")
    }
}

@Suite struct LayoutTests {
    @Test func inlineElementsInsertNothing() {
        #expect(text("ca<span>si</span>no c<b>a</b><i>s</i><u>i</u><em>n</em><strong>o</strong> <a href=x>ca</a><font>sino</font>") == "casino casino casino")
    }

    @Test func blockElementsGiveLineBreaks() {
        #expect(text("<p>one</p><p>two</p><div>three</div>four<br>five<br/>six<hr>seven") == "one\ntwo\nthree\nfour\nfive\nsix\nseven")
        #expect(text("<ul><li>a</li><li>b</li></ul><h1>c</h1><h6>d</h6><blockquote>e</blockquote>") == "a\nb\nc\nd\ne")
        #expect(text("<section>a</section><article>b</article><header>c</header><footer>d</footer>") == "a\nb\nc\nd")
    }

    @Test func tableCellsGiveTabsAndRowsLineBreaks() {
        #expect(text("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th><th>d</th></tr></table>") == "a\tb\nc\td")
    }

    @Test func whitespaceCollapsesAsRendered() {
        #expect(text("  many \n\n  spaces\t\there  ") == "many spaces here")
        #expect(text("<p>  a  </p>  <p>  b  </p>") == "a\nb")
        #expect(text("a <b> b </b> c") == "a b c")
    }

    @Test func preformattedTextKeepsItsWhitespace() {
        #expect(text("x<pre>\n  a  b\n c</pre>y") == "x\n  a  b\n c\ny")
        #expect(text("<pre>a\r\nb\rc</pre>") == "a\nb\nc")
    }

    @Test func softHyphensAndZeroWidthCharactersAreRemoved() {
        #expect(text("ca\u{AD}si\u{200B}n\u{200C}o c\u{200D}a\u{2060}s\u{FEFF}ino") == "casino casino")
        #expect(text("ca&shy;si&#8203;n&zwnj;o c&zwj;a&NoBreak;s&#xFEFF;ino") == "casino casino")
    }

    @Test func unicodeTextPassesThrough() {
        #expect(text("<p>Grüße, 世界 🎉</p>") == "Grüße, 世界 🎉")
    }
}
