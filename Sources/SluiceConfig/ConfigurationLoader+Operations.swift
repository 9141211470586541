import SluiceSMTP

/// The statements of running Sluice as a service: `metrics listen ADDR`, `log format text|json`,
/// `user NAME`, `pid-file FILE` and `xclient from LIST`.
extension ConfigurationLoader {
    mutating func applyOperations(_ head: Token, _ arguments: [Token]) {
        switch head.text {
        case "metrics":
            guard arguments.count == 2, arguments[0].text == "listen" else {
                return error(head, "write 'metrics listen HOST:PORT' (e.g. metrics listen 127.0.0.1:9725)")
            }
            do {
                configuration.metricsListen = try Endpoint(parsing: arguments[1].text)
            } catch {
                self.error(arguments[1], "\(error)")
            }
        case "log":
            guard arguments.count == 2, arguments[0].text == "format" else {
                return error(head, "write 'log format text' or 'log format json'")
            }
            guard let format = LogFormat(rawValue: arguments[1].text) else {
                return error(arguments[1], "log format is 'text' or 'json', not '\(arguments[1].text)'")
            }
            configuration.logFormat = format
        case "dns":
            // `dns server HOST:PORT` (repeatable), `dns timeout DURATION`, `dns budget DURATION`.
            guard arguments.count == 2, ["server", "timeout", "budget"].contains(arguments[0].text) else {
                return error(head, "write 'dns server HOST:PORT', 'dns timeout DURATION' or 'dns budget DURATION'")
            }
            if arguments[0].text != "server" {
                guard let seconds = Quantity.duration(arguments[1].text), seconds > 0 else {
                    return error(arguments[1], "bad duration '\(arguments[1].text)' (use 5s, 1m)")
                }
                if arguments[0].text == "timeout" { configuration.dnsTimeout = seconds } else { configuration.dnsBudget = seconds }
            } else {
                do {
                    configuration.dnsServers.append(try Endpoint(parsing: arguments[1].text))
                } catch {
                    self.error(arguments[1], "\(error)")
                }
            }
        case "xclient":
            guard arguments.count == 2, arguments[0].text == "from" else {
                return error(head, "write 'xclient from LIST' (a cidr list of the hosts that may send XCLIENT)")
            }
            xclientList = arguments[1]
        case "pid-file":
            guard arguments.count == 1, let path = arguments.first?.text, path.hasPrefix("/") else {
                return error(head, "write 'pid-file FILE' with an absolute path (e.g. pid-file /run/sluice/sluice.pid)")
            }
            configuration.pidFile = path
        default: // user
            guard arguments.count == 1, let name = arguments.first?.text, !name.isEmpty else {
                return error(head, "write 'user NAME' (the account to run as once the listeners are bound)")
            }
            configuration.user = name
        }
    }
}
