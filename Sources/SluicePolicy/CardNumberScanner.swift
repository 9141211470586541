/// Finds payment card numbers in UTF-8 text, left to right, without overlaps.
///
/// The digits of a number come in *groups* (runs of ASCII digits). Groups joined by one space or
/// one dash form a *cluster*; two separators in a row, any other character, or a letter ends it.
/// A candidate is
/// - one group of 13–19 digits, or
/// - consecutive groups of the cluster, each of at least 3 digits, joined by one kind of separator
///   (`4111 1111 1111 1111`, `4111-1111-1111-1111`, `3782 822463 10005`), 13–19 digits in all;
///
/// and it is a card number when its digits are Luhn-valid and a known issuer range issues that
/// length (`CardIssuer`). Boundaries: a candidate is not part of a word or a longer number —
/// - the byte before it and after it is not an ASCII letter or digit (so neither `x4111111111111111`
///   nor a 20-digit run contains a card number), and not a `.` between it and another digit
///   (decimals such as `0.4111111111111111`; a comma does not count, so a comma-separated list
///   of card numbers is found);
/// - a dash-joined cluster is one token: a candidate never starts or ends at a dash that joins it to
///   another group (`12-4111-1111-1111-1111` has none), while space-joined groups are separate words
///   (`order 12345 4111 1111 1111 1111` has one);
/// - mixed separators do not join (`4111-1111 1111-1111` has none).
///
/// From each group the longest candidate that validates is taken, and the search goes on after it.
/// The work is linear: a candidate spans at most six groups, and each group starts at most one.
struct CardNumberScanner {
    private struct Group {
        let start: Int
        let end: Int
        /// The space or dash joining it to the group before (0: the first of its cluster).
        let separatorBefore: UInt8
        /// Followed by a letter, or by `.` and a digit: the group cannot end a candidate.
        var continuesAfter = false
        var count: Int { end - start }
    }

    static let minimumDigits = 13
    static let maximumDigits = 19
    static let minimumGroupDigits = 3
    /// Enough groups to hold any candidate (six of three or more digits) and the one after it.
    private static let window = 7

    private let input: UnsafeBufferPointer<UInt8>
    private let end: Int
    private var groups: [Group] = []
    private var digits: [UInt8] = []

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.end = input.count
        groups.reserveCapacity(Self.window)
        digits.reserveCapacity(Self.maximumDigits)
    }

    /// Calls `found` with each card number (offset and length in bytes) until it returns false.
    mutating func scan(_ found: (DetectorMatch) -> Bool) {
        var index = 0
        while true {
            index = DetectorBytes.nextDigit(input, from: index, end: end)
            guard index < end else { return }
            if index > 0, DetectorBytes.isWordByte(input[index - 1]) || followsDecimalPoint(index) {
                index = tokenEnd(from: index)
                continue
            }
            guard let next = cluster(from: index, found) else { return }
            index = next
        }
    }

    /// Reads the cluster starting at `start` and reports its card numbers: the index after the
    /// cluster (and after the word its last group runs into), or nil when `found` asked to stop.
    private mutating func cluster(from start: Int, _ found: (DetectorMatch) -> Bool) -> Int? {
        groups.removeAll(keepingCapacity: true)
        var position = start
        var separator: UInt8 = 0
        var ended = false
        while true {
            while !ended, groups.count < Self.window {
                var index = position
                while index < end, DetectorBytes.isDigit(input[index]) { index += 1 }
                var group = Group(start: position, end: index, separatorBefore: separator)
                if index + 1 < end, input[index] == UInt8(ascii: " ") || input[index] == UInt8(ascii: "-"),
                   DetectorBytes.isDigit(input[index + 1]) {
                    separator = input[index]
                    position = index + 1
                } else {
                    group.continuesAfter = index < end && (DetectorBytes.isLetter(input[index]) || precedesDecimals(index))
                    ended = true
                    position = group.continuesAfter ? tokenEnd(from: index) : index
                }
                groups.append(group)
            }
            guard !groups.isEmpty else { return position }
            if let last = longestCandidate() {
                let match = DetectorMatch(offset: groups[0].start, length: groups[last].end - groups[0].start)
                guard found(match) else { return nil }
                groups.removeFirst(last + 1)
            } else {
                groups.removeFirst()
            }
        }
    }

    /// The index of the last group of the longest valid candidate starting at the first group.
    private mutating func longestCandidate() -> Int? {
        let dash = UInt8(ascii: "-")
        guard groups[0].separatorBefore != dash else { return nil }
        var best: Int?
        var total = 0
        for last in groups.indices {
            let group = groups[last]
            if last > 0 {
                guard group.separatorBefore == groups[1].separatorBefore,
                      group.count >= Self.minimumGroupDigits, groups[0].count >= Self.minimumGroupDigits else { break }
            }
            total += group.count
            guard total <= Self.maximumDigits, !group.continuesAfter else { break }
            let joinedAfter = last + 1 < groups.count && groups[last + 1].separatorBefore == dash
            if total >= Self.minimumDigits, !joinedAfter, isCardNumber(groups[0...last]) { best = last }
        }
        return best
    }

    private mutating func isCardNumber(_ candidate: ArraySlice<Group>) -> Bool {
        digits.removeAll(keepingCapacity: true)
        for group in candidate {
            for index in group.start..<group.end { digits.append(input[index] &- UInt8(ascii: "0")) }
        }
        return CardIssuer.issuer(of: digits) != nil && DetectorChecksums.luhnIsValid(digits)
    }

    /// The end of the word at `start` and of what dashes join to its digits: digits inside a word are
    /// a group too, so `q2-4111-1111-1111-1111` has no card number, as `12-4111-1111-1111-1111` has none.
    private func tokenEnd(from start: Int) -> Int {
        var index = wordEnd(from: start)
        while index > 0, index + 1 < end, input[index] == UInt8(ascii: "-"), DetectorBytes.isDigit(input[index - 1]),
              DetectorBytes.isDigit(input[index + 1]) {
            index = wordEnd(from: index + 1)
        }
        return index
    }

    private func wordEnd(from start: Int) -> Int {
        var index = start
        while index < end, DetectorBytes.isWordByte(input[index]) { index += 1 }
        return index
    }

    /// `digit.` just before `index`.
    private func followsDecimalPoint(_ index: Int) -> Bool {
        index >= 2 && input[index - 1] == UInt8(ascii: ".") && DetectorBytes.isDigit(input[index - 2])
    }

    /// `.digit` at `index`.
    private func precedesDecimals(_ index: Int) -> Bool {
        index + 1 < end && input[index] == UInt8(ascii: ".") && DetectorBytes.isDigit(input[index + 1])
    }
}
