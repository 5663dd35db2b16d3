import Foundation
import Logging
import ServiceLifecycle

/// Re-reads the config file's `flags` section when it changes (polled every `interval`, by
/// content: an editor's rename, a ConfigMap's symlink swap and an in-place write all show) and
/// on `reloadNow()` (SIGHUP). A valid section is put in force whole (`KatoServerApp.apply`) and
/// each change logged old → new; an invalid one is refused whole, logged with its position and
/// counted (`kato_flags_reload_failures_total`); the previous flags stay.
public final class FlagsWatcher: Service, Sendable {
    let path: String
    let app: KatoServerApp
    let logger: Logger
    let interval: Duration
    private let triggers: AsyncStream<String>
    private let trigger: AsyncStream<String>.Continuation
    /// The bytes the flags in force came from, read when the watcher is made (right after the
    /// start-up load): a change after that is a change.
    private let initial: Data?

    public init(path: String, app: KatoServerApp, logger: Logger, interval: Duration = .seconds(1)) {
        self.path = path
        self.app = app
        self.logger = logger
        self.interval = interval
        (triggers, trigger) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(4))
        initial = try? Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Reloads at once (SIGHUP), even when the file did not change.
    public func reloadNow() {
        trigger.yield("SIGHUP")
    }

    public func run() async throws {
        let ticker = Task { [trigger, interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                trigger.yield("file-watch")
            }
        }
        defer { ticker.cancel() }
        let triggers = self.triggers
        await cancelWhenGracefulShutdown { [self] in
            var last = initial
            for await cause in triggers {
                let now = read()
                if cause == "file-watch", now == last { continue }
                last = now
                reload(cause: cause)
            }
        }
    }

    private func read() -> Data? { try? Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Loads and applies the file's flags; false when refused.
    @discardableResult
    public func reload(cause: String) -> Bool {
        do {
            let new = try FlagsFile.load(path)
            let changes = app.apply(flags: new)
            FlagMetrics.reloads.increment()
            for c in changes {
                logger.notice("feature flag changed", metadata: ["flag": "\(c.name)", "old": "\(c.old)", "new": "\(c.new)", "cause": "\(cause)"])
            }
            if changes.isEmpty { logger.info("feature flags reloaded, nothing changed", metadata: ["cause": "\(cause)"]) }
            for limitation in app.flagLimitations(new) { logger.warning("feature flags: \(limitation)") }
            return true
        } catch {
            FlagMetrics.reloadFailures.increment()
            logger.error("feature flags refused; the previous flags stay in force", metadata: [
                "error": "\(error)", "file": "\(error.path)", "line": "\(error.line)", "column": "\(error.column)", "cause": "\(cause)",
            ])
            return false
        }
    }
}
