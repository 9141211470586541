import SluicePolicy
import SluiceSMTP

/// The `limit` and `timeout` statements: each a name from its table and a value with its unit.
extension ConfigurationLoader {
    /// `limit NAME VALUE`.
    mutating func applyLimit(_ head: Token, _ arguments: [Token]) {
        var arguments = arguments
        var overflow: OverflowAction?
        if arguments.count == 4, arguments[2].word == "overflow" {
            guard let word = arguments[3].word, let action = OverflowAction(rawValue: word) else {
                return error(arguments[3], "overflow is pass, defer or reject, not '\(arguments[3].text)'")
            }
            guard let name = arguments[0].word, ["body-inspection", "mime-parts", "mime-depth"].contains(name) else {
                return error(arguments[2], "only body-inspection, mime-parts and mime-depth take 'overflow'")
            }
            overflow = action
            arguments.removeLast(2)
        }
        guard arguments.count == 2, let name = arguments[0].word else {
            return error(head, "write 'limit NAME VALUE' (NAME is one of \(Self.limitNames.joined(separator: ", ")))")
        }
        let value = arguments[1]
        func size() -> Int? {
            guard let size = Quantity.size(value.text), size > 0 else {
                error(value, "bad size '\(value.text)' (octets, or with K, M, G)")
                return nil
            }
            return size
        }
        func duration() -> Double? {
            guard let duration = Quantity.duration(value.text), duration > 0 else {
                error(value, "bad duration '\(value.text)' (use 30s, 5m, 1h)")
                return nil
            }
            return duration
        }
        func countOrOff() -> Int? {
            if value.text == "off" || value.text == "0" { return 0 }
            return count()
        }
        func count() -> Int? {
            guard let count = Int(value.text), count > 0 else {
                error(value, "'\(value.text)' is not a positive number")
                return nil
            }
            return count
        }
        switch name {
        case "message-size": if let v = size() { configuration.limits.messageSize = v }
        case "line-length": if let v = size() { configuration.limits.dataLineLength = v }
        case "command-line-length":
            if let v = size() {
                guard v >= 512 else { return error(value, "command-line-length must be at least 512 (RFC 5321)") }
                configuration.limits.commandLineLength = v
            }
        case "memory-spool": if let v = size() { configuration.limits.memorySpoolThreshold = v }
        case "body-inspection":
            if let v = size() { configuration.limits.bodyInspection = v }
            if let overflow { configuration.limits.bodyInspectionOverflow = overflow }
        case "header-size": if let v = size() { configuration.limits.headerWindow = v }
        case "mime-parts":
            if let v = count() { configuration.limits.mimeParts = v }
            if let overflow { configuration.limits.mimePartsOverflow = overflow }
        case "mime-depth":
            if let v = count() { configuration.limits.mimeDepth = v }
            if let overflow { configuration.limits.mimeDepthOverflow = overflow }
        case "attachment-scan": if let v = size() { configuration.limits.attachmentScan = v }
        case "archive-members": if let v = count() { configuration.limits.archiveMembers = v }
        case "recipients": if let v = count() { configuration.limits.recipients = v }
        case "errors": if let v = count() { configuration.limits.errors = v }
        case "tls-required":
            guard value.text == "on" || value.text == "off" else { return error(value, "limit tls-required is 'on' or 'off'") }
            configuration.tlsRequiredEverywhere = value.text == "on"
        case "idle-timeout": if let v = duration() { configuration.limits.idleTimeout = v }
        case "command-time": if let v = duration() { configuration.limits.commandTime = v }
        case "data-rate":
            if let v = size() { configuration.limits.minimumDataRate = v }
        case "connections": if let v = countOrOff() { configuration.limits.connections = v }
        case "connections-per-client": if let v = countOrOff() { configuration.limits.connectionsPerClient = v }
        case "connection-rate":
            // `30/min` (or 0, `off`): new connections per client in any 60 seconds.
            if value.text == "off" || value.text == "0" { configuration.limits.connectionRate = 0; return }
            let parts = value.text.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[1] == "min", let count = Int(parts[0]), count > 0 else {
                return error(value, "write 'limit connection-rate N/min', not '\(value.text)'")
            }
            configuration.limits.connectionRate = count
        case "client-grouping":
            guard value.text == "address" || value.text == "network" else {
                return error(value, "limit client-grouping is 'address' or 'network' (/24 for IPv4, /64 for IPv6)")
            }
            configuration.limits.groupClientsByNetwork = value.text == "network"
        case "messages-per-session": if let v = countOrOff() { configuration.limits.messagesPerSession = v }
        case "greet-delay":
            if value.text == "0" || value.text == "off" { configuration.limits.greetDelay = 0; return }
            if let v = duration() { configuration.limits.greetDelay = v }
        case "exempt":
            // A cidr list, resolved once every list is known (`none`: nobody is exempt).
            exemptList = value
        default:
            error(arguments[0], "unknown limit '\(name)'\(Suggestion.hint(for: name, among: Self.limitNames))")
        }
    }

    /// `timeout NAME DURATION`.
    mutating func applyTimeout(_ head: Token, _ arguments: [Token]) {
        guard arguments.count == 2, let name = arguments[0].word else {
            return error(head, "write 'timeout NAME DURATION' (NAME is one of \(Self.timeoutNames.joined(separator: ", ")))")
        }
        guard let value = Quantity.duration(arguments[1].text), value > 0 else {
            return error(arguments[1], "bad duration '\(arguments[1].text)' (use 30s, 5m, 1h)")
        }
        switch name {
        case "upstream-connect": configuration.upstreamTimeouts.connect = value
        case "upstream-command": configuration.upstreamTimeouts.command = value
        case "upstream-data": configuration.upstreamTimeouts.endOfData = value
        default: error(arguments[0], "unknown timeout '\(name)'\(Suggestion.hint(for: name, among: Self.timeoutNames))")
        }
    }
}
