#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import CPCRE2

/// A PCRE2 pattern, compiled once (with JIT when available) and matched many times from any thread.
///
/// Matching runs with a per-thread match context whose match and depth limits bound the work one
/// subject can cost; hitting a limit is reported as `MatchLimitExceeded`, never as "no match".
public final class Pattern: @unchecked Sendable, CustomStringConvertible {
    public struct CompileError: Error, Hashable, Sendable {
        /// Offset in the pattern text where PCRE2 gave up, in characters (for the column of the
        /// diagnostic; PCRE2 itself counts octets).
        public var offset: Int
        public var message: String
    }

    public struct MatchLimitExceeded: Error, Hashable, Sendable {
        public var pattern: String
    }

    public static let flagLetters = "imsxu"

    public let source: String
    public let flags: String
    private let code: OpaquePointer
    public let isJIT: Bool

    /// Compiles `source` with `flags` (`i` caseless, `m` multiline, `s` dotall, `x` extended, `u` UTF-8 + Unicode properties).
    public init(_ source: String, flags: String = "") throws(CompileError) {
        var options: UInt32 = 0
        for (index, flag) in flags.enumerated() {
            switch flag {
            case "i": options |= UInt32(PCRE2_CASELESS)
            case "m": options |= UInt32(PCRE2_MULTILINE)
            case "s": options |= UInt32(PCRE2_DOTALL)
            case "x": options |= UInt32(PCRE2_EXTENDED)
            case "u": options |= UInt32(PCRE2_UTF) | UInt32(PCRE2_UCP) | UInt32(PCRE2_MATCH_INVALID_UTF)
            default:
                throw CompileError(offset: source.count + 1 + index, message: "unknown pattern flag '\(flag)' (use \(Self.flagLetters))")
            }
        }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(source.utf8)
        guard let code = pcre2_compile_8(bytes, bytes.count, options, &errorCode, &errorOffset, nil) else {
            let characters = String(decoding: bytes.prefix(errorOffset), as: UTF8.self).count
            throw CompileError(offset: characters, message: Self.message(for: errorCode))
        }
        self.source = source
        self.flags = flags
        self.code = code
        self.isJIT = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit { pcre2_code_free_8(code) }

    public var description: String { "/\(source)/\(flags)" }

    /// True when the pattern matches somewhere in `subject`.
    public func matches(_ subject: UnsafeRawBufferPointer) throws(MatchLimitExceeded) -> Bool {
        let scratch = MatchScratch.current
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        let result = pcre2_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.context)
        if result >= 0 { return true }
        if result == PCRE2_ERROR_NOMATCH { return false }
        if result == PCRE2_ERROR_MATCHLIMIT || result == PCRE2_ERROR_DEPTHLIMIT || result == PCRE2_ERROR_JIT_STACKLIMIT
            || result == PCRE2_ERROR_HEAPLIMIT {
            throw MatchLimitExceeded(pattern: description)
        }
        // Any other error (e.g. invalid UTF in a non-tolerant mode) is not a silent pass either.
        throw MatchLimitExceeded(pattern: description)
    }

    public func matches(_ subject: String) throws(MatchLimitExceeded) -> Bool {
        var subject = subject
        let result: Result<Bool, MatchLimitExceeded> = subject.withUTF8 { buffer in
            Result { () throws(MatchLimitExceeded) -> Bool in try matches(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    /// Calls `body` with the octet range of each match in `subject`, left to right and not overlapping,
    /// until it returns false (an empty match moves on by one octet).
    public func forEachMatch(in subject: UnsafeRawBufferPointer, _ body: (Range<Int>) -> Bool) throws(MatchLimitExceeded) {
        let scratch = MatchScratch.current
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1)!
        var start = 0
        while start <= subject.count {
            let result = pcre2_match_8(code, base, subject.count, start, 0, scratch.matchData, scratch.context)
            if result == PCRE2_ERROR_NOMATCH { return }
            guard result >= 0 else { throw MatchLimitExceeded(pattern: description) }
            let vector = pcre2_get_ovector_pointer_8(scratch.matchData)!
            let range = vector[0]..<max(vector[0], vector[1])
            guard body(range) else { return }
            start = range.isEmpty ? range.upperBound + 1 : range.upperBound
        }
    }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer[0..<Int(length)], as: UTF8.self) : "PCRE2 error \(code)"
    }
}

/// Per-thread PCRE2 match data, match context (with limits) and JIT stack, created once per thread.
final class MatchScratch {
    static let matchLimit: UInt32 = 1_000_000
    static let depthLimit: UInt32 = 10_000

    let matchData: OpaquePointer
    let context: OpaquePointer
    let jitStack: OpaquePointer?

    private init() {
        matchData = pcre2_match_data_create_8(1, nil)
        context = pcre2_match_context_create_8(nil)
        pcre2_set_match_limit_8(context, Self.matchLimit)
        pcre2_set_depth_limit_8(context, Self.depthLimit)
        jitStack = pcre2_jit_stack_create_8(32 * 1024, 1024 * 1024, nil)
        pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack))
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_match_context_free_8(context)
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<MatchScratch>.fromOpaque(pointer).release()
        }
        return key
    }()

    static var current: MatchScratch {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<MatchScratch>.fromOpaque(pointer).takeUnretainedValue()
        }
        let scratch = MatchScratch()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }
}
