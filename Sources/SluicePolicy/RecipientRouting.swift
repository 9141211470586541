import SluiceSMTP

/// What the `bcc` and `redirect` rules decided for a message: recipients to add (journal copies) and
/// recipients that replace the client's (a quarantine). Sluice gives them to the upstream before DATA,
/// so it delivers them in the same transaction.
public struct RecipientRouting: Hashable, Sendable {
    public var bcc: [ForwardPath] = []
    public var redirect: [ForwardPath] = []

    public init(bcc: [ForwardPath] = [], redirect: [ForwardPath] = []) {
        self.bcc = bcc
        self.redirect = redirect
    }

    public var isEmpty: Bool { bcc.isEmpty && redirect.isEmpty }

    mutating func merge(_ other: RecipientRouting) {
        for path in other.bcc where !bcc.contains(path) { bcc.append(path) }
        for path in other.redirect where !redirect.contains(path) { redirect.append(path) }
    }

    /// The recipients the message goes to, given the ones the upstream accepted from the client: the
    /// redirect addresses instead of them when a `redirect` fired, then each `bcc` not already there.
    public func recipients(replacing accepted: [ForwardPath]) -> [ForwardPath] {
        var result = redirect.isEmpty ? accepted : redirect
        for path in bcc where !result.contains(path) { result.append(path) }
        return result
    }
}
