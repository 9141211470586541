// Greylisting decisions per second, per store, at 1 and 50 concurrent sessions, for first contacts
// (inserts), second contacts (pending -> passed) and known keys (passed, refreshed).
//
// usage: GreyBench sqlite PATH | postgres URL   [DECISIONS]
import Foundation
import SluicePolicy
import SluiceStore

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: GreyBench sqlite PATH | postgres URL [DECISIONS]\n".utf8))
    exit(2)
}
let total = arguments.count > 3 ? Int(arguments[3]) ?? 20000 : 20000
let store: any GreylistStore
do {
    store = arguments[1] == "sqlite" ? try SQLiteGreylistStore(path: arguments[2]) : try PostgresGreylistStore(url: arguments[2])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}
var settings = GreylistSettings()
settings.autoAllow = 0

func run(_ label: String, concurrency: Int, keys: [GreylistKey], now: Int64) async throws -> Double {
    let start = Date()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var index = worker
                while index < keys.count {
                    _ = try await store.decide(keys[index], now: now, settings: settings)
                    index += concurrency
                }
            }
        }
        try await group.waitForAll()
    }
    let rate = Double(keys.count) / Date().timeIntervalSince(start)
    print(String(format: "| %@ | %d | %@ | %.0f |", arguments[1], concurrency, label, rate))
    return rate
}

print("| store | sessions | contact | decisions/s |")
print("|---|---:|---|---:|")
for (round, concurrency) in [1, 50].enumerated() {
    let count = concurrency == 1 ? min(total, 5000) : total
    let keys = (0..<count).map { GreylistKey(network: "10.\(round).\($0 / 250 % 250).0/24", sender: "s\($0)@bench.example", recipient: "r\($0 % 97)@example.com") }
    let t0: Int64 = 1_800_000_000 + Int64(round) * 1_000_000
    _ = try await run("first (insert)", concurrency: concurrency, keys: keys, now: t0)
    _ = try await run("second (pending -> passed)", concurrency: concurrency, keys: keys, now: t0 + 301)
    _ = try await run("known (passed)", concurrency: concurrency, keys: keys, now: t0 + 400)
}
await store.close()
