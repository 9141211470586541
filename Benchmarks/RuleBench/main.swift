// Rule evaluation throughput: Sluice's engine (header, body and eom stages, as the relay runs them)
// against a direct PCRE2 loop over the same patterns and subjects, in the same run.
//
// usage: RuleBench RULES.conf CORPUS_DIR [SECONDS]
import CPCRE2
import Foundation
import SluiceConfig
import SluicePolicy
import SluiceSMTP

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: RuleBench RULES.conf CORPUS_DIR [SECONDS]\n".utf8))
    exit(2)
}
let configuration: Configuration
do {
    configuration = try ConfigurationLoader.load(path: arguments[1])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(2)
}
let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 3 : 3
let files = (try FileManager.default.contentsOfDirectory(atPath: arguments[2])).filter { $0.hasSuffix(".eml") }.sorted()
let messages: [[UInt8]] = files.map { Array(FileManager.default.contents(atPath: arguments[2] + "/" + $0)!) }
let facts: [Facts] = messages.map { wire in
    var facts = Facts(clientText: "198.51.100.1")
    facts.addMessage(wire: wire, bodyLimit: configuration.limits.bodyInspection)
    facts.size = wire.count
    return facts
}
let bodyBytes = facts.reduce(0) { $0 + $1.body.count }
let rules = configuration.ruleSet.rules.values.joined()
print("rules: \(rules.count), messages: \(messages.count), body bytes: \(bodyBytes)")

func measure(_ name: String, _ body: () -> Int) -> Double {
    var rounds = 0
    var verdicts = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
        verdicts += body()
        rounds += 1
    }
    let elapsed = Date().timeIntervalSince(start)
    let perSecond = Double(rounds * messages.count) / elapsed
    let megabytes = Double(rounds * bodyBytes) / elapsed / 1_000_000
    print(String(format: "%@: %.0f messages/s, %.1f MB/s of body scanned (%d refused)", name, perSecond, megabytes, verdicts))
    return perSecond
}

// 1. The engine, as the relay runs it.
let engine = measure("engine") {
    facts.reduce(0) { count, message in
        configuration.ruleSet.evaluateContent(message).verdict == .proceed ? count : count + 1
    }
}

// 2. A direct PCRE2 loop: the same compiled patterns, each run once over its subject; no engine.
struct Direct { let pattern: Pattern; let header: String? }
let direct: [Direct] = rules.compactMap { rule in
    switch rule.condition {
    case .matches(.header(let name), let pattern)?: return Direct(pattern: pattern, header: name.lowercased())
    case .matches(.body, let pattern)?: return Direct(pattern: pattern, header: nil)
    default: return nil
    }
}
let baseline = measure("direct PCRE2 loop") {
    var hits = 0
    for message in facts {
        for item in direct {
            if let name = item.header {
                for field in message.headers where field.name.lowercased() == name {
                    if (try? item.pattern.matches(field.value)) == true { hits += 1 }
                }
            } else {
                if message.body.withUnsafeBytes({ (try? item.pattern.matches($0)) == true }) { hits += 1 }
            }
        }
    }
    return hits
}
print(String(format: "engine/direct: %.2f", engine / baseline))
