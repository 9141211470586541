import SluiceMIME
import Testing

private func text(_ html: String, limit: Int = 1 << 20) -> String { HTMLText.text(fromHTML: html, limit: limit) }

@Suite struct SpamEvasionTests {
    @Test(arguments: [
        "cas&#105;no", "c&#x61;sino", "ca<!-- x -->sino", "ca&shy;sino", "ca<span style=\"x\">si</span>no",
        "<b>c</b>asino", "ca<!---->sino", "c&#97;s&#x69;n&#111;", "ca&#173;sino", "cas<wbr>ino", "ca\u{200B}sino",
        "ca<span style=\"display:inline\">s</span><font color=red>ino</font>", "C&#65;SINO",
    ])
    func splitWordsAreJoined(html: String) {
        #expect(text(html).lowercased() == "casino")
    }

    @Test(arguments: [
        "<script>casino</script>", "<style>casino{}</style>", "<!-- casino -->", "<template>casino</template>",
        "<script type=\"text/x\">casino", "<!--casino", "<a title=\"casino\">", "<?casino?>", "<!DOCTYPE casino>",
    ])
    func hiddenTextDoesNotAppear(html: String) {
        #expect(!text("a " + html + " b").contains("casino"))
    }
}

@Suite struct MalformedInputTests {
    @Test func angleBracketSoup() {
        #expect(text("<<<>>>") == "<<<>>>")
        #expect(text("<><><>") == "<><><>")
        #expect(text("<!<?</") == "")
    }

    @Test func unterminatedReferencesAndTags() {
        #expect(text("&#") == "&#")
        #expect(text("&#x") == "&#x")
        #expect(text("&am") == "&am")
        #expect(text("&") == "&")
        #expect(text("<p class=\"never closed") == "")
        #expect(text("<p class='never closed") == "")
        #expect(text("<title>runs to the end") == "runs to the end")
        #expect(text("<script>runs to the end") == "")
    }

    @Test func aMegabyteOfLessThanSignsIsText() {
        let html = String(repeating: "<", count: 1 << 20)
        #expect(text(html, limit: 1 << 21) == html)
    }

    /// Unclosed markup repeated over 256 KiB ends with bounded output (time is not measured here: these
    /// machines are shared; the fuzz target's per-input timeout and the benchmark catch a slow path).
    @Test func unclosedMarkupRepeatedEndsWithBoundedOutput() {
        for unit in ["<a", "<!--", "</", "<a b=\"", "&#", "&amp", "<p>", "<![CDATA[", "<script>", "--", "]]"] {
            let html = String(repeating: unit, count: (1 << 18) / unit.utf8.count)
            let output = text(html)
            #expect(output.utf8.count <= 3 * html.utf8.count, "\(unit)")
            #expect(output == text(html), "\(unit): the same input gives the same text")
        }
    }

    @Test func malformedUTF8BecomesReplacementCharacters() {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63, 0xED, 0xA0, 0x80, 0x64, 0xF0, 0x9F]
        let result = bytes.withUnsafeBytes { HTMLText.text(fromHTML: $0) }
        #expect(result == "a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}\u{FFFD}d\u{FFFD}")
    }

    @Test func everyByteValueIsAccepted() {
        let bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 >> 3) }
        let result = bytes.withUnsafeBytes { HTMLText.text(fromHTML: $0) }
        #expect(result.utf8.count <= 3 * bytes.count)
    }
}

@Suite struct OutputLimitTests {
    @Test func outputStopsAtTheLimit() {
        let html = String(repeating: "<p>word</p>", count: 10_000)
        let result = text(html, limit: 100)
        #expect(result.utf8.count <= 100)
        #expect(result.hasPrefix("word\nword"))
    }

    @Test func theLimitNeverSplitsACharacter() {
        let result = text(String(repeating: "é", count: 100), limit: 11)
        #expect(result == String(repeating: "é", count: 5))
        #expect(text("€€€", limit: 8) == "€€")
    }

    @Test func aZeroOrNegativeLimitGivesNothing() {
        #expect(text("abc", limit: 0) == "")
        #expect(text("abc", limit: -5) == "")
    }

    @Test func textUnderTheLimitIsComplete() {
        #expect(text("<p>abc</p>", limit: 3) == "abc")
    }
}

@Suite struct RawTextEndTests {
    @Test func onlyTheRealEndTagClosesAScript() {
        #expect(text("<script>a</scriptx>casino</script>b") == "b")
        #expect(text("<script>a</script\tfoo=bar>b") == "b")
        #expect(text("<style>a</STYLE/>b") == "b")
    }

    @Test func longUnknownElementNamesAreInline() {
        #expect(text("ca<averyveryverylongelementname x=1>si</averyveryverylongelementname>no") == "casino")
        #expect(text("a<scriptandmore>b</scriptandmore>c") == "abc")
    }
}

@Suite struct RandomMarkupTests {
    /// Random sequences of markup fragments: the output stays within the limit and is valid UTF-8.
    @Test func randomFragmentsNeverExceedTheLimit() {
        let fragments = ["<", ">", "</", "<!--", "-->", "<!", "<?", "&", "&#", "&#x", ";", "amp", "nbsp", "1", "x",
                         "\"", "'", "=", " ", "\n", "<p>", "<pre>", "</pre>", "<script>", "</script>", "<template>",
                         "</template>", "<title>", "<![CDATA[", "]]>", "é", "\u{AD}", "\u{200B}", "<td>", "<br/>"]
        var state: UInt64 = 42
        for round in 0..<300 {
            var html = ""
            for _ in 0..<200 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                html += fragments[Int(state >> 33) % fragments.count]
            }
            let limit = round % 97
            let result = text(html, limit: limit)
            #expect(result.utf8.count <= limit)
            #expect(!result.unicodeScalars.contains { $0.value == 0xAD || $0.value == 0x200B })
        }
    }
}
