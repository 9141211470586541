import SluicePolicy

/// The statements about message content: `detector`.
extension ConfigurationLoader {
    /// `detector NAME pcre /PATTERN/flags [validate luhn|mod97|none]`.
    mutating func applyDetector(_ head: Token, _ arguments: [Token]) {
        let usage = "write 'detector NAME pcre /PATTERN/ [validate luhn|mod97|none]'"
        guard arguments.count == 3 || arguments.count == 5, let name = arguments[0].word else { return error(head, usage) }
        guard arguments[1].word == "pcre" else { return error(arguments[1], usage) }
        guard Detector.builtins[name] == nil else { return error(arguments[0], "'\(name)' is a built-in detector") }
        guard configuration.detectors[name] == nil else { return error(arguments[0], "detector '\(name)' is defined twice") }
        guard case .pattern(let source, let flags) = arguments[2].kind else {
            return error(arguments[2], "expected a /pattern/ after 'pcre'")
        }
        var validation = DetectorValidation.none
        if arguments.count == 5 {
            guard arguments[3].word == "validate" else { return error(arguments[3], usage) }
            guard let word = arguments[4].word, let chosen = DetectorValidation(rawValue: word) else {
                return error(arguments[4], "unknown validation '\(arguments[4].text)' (use luhn, mod97 or none)")
            }
            validation = chosen
        }
        do {
            configuration.detectors[name] = Detector(name: name, pattern: try Pattern(source, flags: flags), validation: validation)
        } catch {
            var location = arguments[2].location
            location.column += 1 + error.offset
            diagnostics.append(Diagnostic(.error, at: location, "bad pattern: \(error.message)"))
        }
    }
}
