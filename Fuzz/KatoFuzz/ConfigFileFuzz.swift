import Foundation
import KatoServer

/// The server's file readers: the first byte picks `--config` JSON, `--config` YAML or the
/// auth key file (`--auth-keys`), the rest is the file's content. Every input must either
/// give settings or be refused with an error that names the file.
enum ConfigFileFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let selector = data.first else { return }
        let content = Data(data.dropFirst())
        switch selector % 3 {
        case 0:
            _ = try? ConfigFile.parse(content, path: "fuzz.json")
        case 1:
            if let settings = try? ConfigFile.parse(content, path: "fuzz.yaml") {
                // The YAML reader keeps no empty key or value (it refuses them with a line number).
                precondition(settings.allSatisfy { !$0.key.isEmpty && !$0.value.isEmpty }, "YAML gave an empty key or value")
            }
        default:
            do {
                _ = try KeyFile.parseContents(content)
            } catch {
                _ = error.description
            }
        }
    }
}
