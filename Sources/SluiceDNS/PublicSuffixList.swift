import CLibPSL

/// The organizational domain of a name (RFC 7489 §3.2): its registrable domain by the Public Suffix
/// List, through Debian's libpsl and the list its `publicsuffix` package keeps up to date. Loaded once;
/// a lookup is a read of the compiled list.
public final class PublicSuffixList: @unchecked Sendable {
    public static let shared = PublicSuffixList()

    private let context: OpaquePointer?

    private init() {
        // The newer of the list built into libpsl and the distribution's file.
        context = psl_latest(nil) ?? psl_builtin()
    }

    deinit {
        if let context, context != psl_builtin() { psl_free(context) }
    }

    /// `mail.example.co.uk` → `example.co.uk`; a public suffix itself (or a name the list does not
    /// know) is its own organizational domain. Lower case, no trailing dot.
    public func organizationalDomain(_ domain: String) -> String {
        var name = domain.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard let context else { return name }
        // The answer points into the string passed: read it while that string is alive.
        return name.withCString { pointer in psl_registrable_domain(context, pointer).map { String(cString: $0) } } ?? name
    }
}
