import Foundation
import SluiceConfig
import SluicePolicy
import SluiceStore

/// Picks and opens the greylist store: the one place where SQLite or PostgreSQL is chosen.
public enum GreylistStores {
    public static func open(_ spec: GreylistStoreSpec) throws -> any GreylistStore {
        switch spec {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            return try SQLiteGreylistStore(path: path)
        case .postgres(let url):
            return try PostgresGreylistStore(url: url)
        }
    }
}

extension RuleSet {
    /// Whether any rule greylists (only then is a store opened).
    public var usesGreylisting: Bool {
        rules.values.joined().contains { if case .greylist = $0.action { return true } else { return false } }
    }
}
