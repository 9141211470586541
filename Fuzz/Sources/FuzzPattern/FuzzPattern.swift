import FuzzSupport
import SluicePolicy

// Pattern (the PCRE2 wrapper) with hostile patterns and subjects.
//
// Input: byte 0 picks the flags (a subset of "imsxu", sometimes with an unknown letter), byte 1 the
// pattern's length; then the pattern (as UTF-8 text, which a configuration's pattern always is); the
// rest is the subject, as raw octets (a message body need not be UTF-8).
//
// Properties:
// - compiling either succeeds or throws a CompileError with a message and an offset inside the
//   pattern, or just past its end (an unknown flag: the offset of that flag after "/pattern/").
// - matching returns or throws MatchLimitExceeded; it never traps, and no match takes longer than
//   a second (the match, depth and heap limits bound the work, JIT or not).
// - the String and the raw-octet entry points agree on a UTF-8 subject.
// - a pattern made of the subject's octets, each escaped, compiles and matches the subject (without
//   "u", "x": octet for octet) — lengths, NULs and high octets reach PCRE2 intact.

let flagLetters: [Character] = ["i", "m", "s", "x", "u"]

func timed<T>(_ what: @autoclosure () -> String, _ body: () throws(Pattern.MatchLimitExceeded) -> T)
    -> Result<T, Pattern.MatchLimitExceeded> {
    let clock = ContinuousClock()
    let start = clock.now
    let result = Result { () throws(Pattern.MatchLimitExceeded) -> T in try body() }
    let elapsed = clock.now - start
    check(elapsed < .seconds(1), "a match took \(elapsed): \(what())")
    return result
}

func escaped(_ bytes: some Sequence<UInt8>) -> String {
    var pattern = ""
    for byte in bytes {
        let isAlnum = (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
        if isAlnum {
            pattern.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            pattern += "\\x{" + String(byte, radix: 16) + "}"
        }
    }
    return pattern
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let flagChoice = input.byte()
    let length = Int(input.byte())
    var flags = ""
    for (bit, letter) in flagLetters.enumerated() where flagChoice & (1 << bit) != 0 { flags.append(letter) }
    if flagChoice & 0xE0 == 0xE0 { flags.insert("z", at: flags.index(flags.startIndex, offsetBy: Int(flagChoice) % (flags.count + 1))) }
    let rest = input.rest()
    let patternBytes = Array(rest.prefix(length))
    let subject = Array(rest.dropFirst(length))
    let source = String(decoding: patternBytes, as: UTF8.self)

    let pattern: Pattern
    do {
        pattern = try Pattern(source, flags: flags)
    } catch {
        check(!error.message.isEmpty, "compile error without a message for /\(source)/\(flags)")
        if let z = flags.firstIndex(of: "z") {
            let index = flags.distance(from: flags.startIndex, to: z)
            // Offsets count characters (they become diagnostic columns).
            check(error.offset == source.count + 1 + index, "unknown flag at offset \(error.offset) in /\(source)/\(flags)")
        } else {
            // PCRE2 may point one past the end (a malformed "(*VERB" at the end of the pattern).
            check(error.offset >= 0 && error.offset <= source.count + 1,
                  "compile error offset \(error.offset) outside /\(hex(source.utf8))/\(flags) (\(source.count) characters): \(error.message)")
        }
        return 0
    }
    check(!flags.contains("z"), "/\(source)/\(flags) compiled with an unknown flag")
    check(pattern.source == source && pattern.flags == flags && pattern.description == "/\(source)/\(flags)", "pattern text changed")

    let raw = subject.withUnsafeBytes { bytes in
        timed("/\(hex(source.utf8))/\(flags) on \(hex(subject))") { () throws(Pattern.MatchLimitExceeded) -> Bool in
            try pattern.matches(bytes)
        }
    }
    if let text = String(validating: subject, as: UTF8.self) {
        let viaString = timed("/\(hex(source.utf8))/\(flags) on the string \(hex(subject))") { () throws(Pattern.MatchLimitExceeded) -> Bool in
            try pattern.matches(text)
        }
        switch (raw, viaString) {
        case (.success(let a), .success(let b)):
            check(a == b, "/\(source)/\(flags) on \(hex(subject)): octets \(a), string \(b)")
        default:
            break // a limit may be reached on one path only when the JIT stack differs; both are refusals
        }
    }

    // A literal pattern of (a prefix of) the subject matches it.
    let literalFlags = String(flags.filter { $0 != "u" && $0 != "x" })
    let literal = escaped(subject.prefix(200))
    do {
        let exact = try Pattern(literal, flags: literalFlags)
        let found = subject.withUnsafeBytes { bytes in
            timed("literal /\(literal)/\(literalFlags)") { () throws(Pattern.MatchLimitExceeded) -> Bool in try exact.matches(bytes) }
        }
        switch found {
        case .success(let matched): check(matched, "the literal /\(literal)/\(literalFlags) does not match \(hex(subject))")
        case .failure(let error): violated("the literal /\(literal)/\(literalFlags) hit a limit on \(hex(subject)): \(error)")
        }
    } catch {
        violated("the literal /\(literal)/\(literalFlags) does not compile: \(error.message) at \(error.offset)")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzPattern_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
