import GRPCH2
import Logging
import Metrics
import Synchronization

/// The feature flags in force, read by the handlers on every call and replaced whole by a
/// reload. The switches the handlers test per call are bits of one atomic (a relaxed load, no
/// lock on the call path); the whole value sits behind a mutex for the rare readers.
public final class LiveFlags: Sendable {
    private let value: Mutex<FeatureFlags>
    private let bits: Atomic<UInt8>

    static let v2SessionsBit: UInt8 = 1
    static let autoLearnBit: UInt8 = 2
    static let emotivesBit: UInt8 = 4
    static let predictionsBit: UInt8 = 8

    public init(_ flags: FeatureFlags = FeatureFlags()) {
        value = Mutex(flags)
        bits = Atomic(Self.bits(of: flags))
    }

    static func bits(of f: FeatureFlags) -> UInt8 {
        (f.v2Sessions ? v2SessionsBit : 0) | (f.autoLearn ? autoLearnBit : 0) | (f.emotives ? emotivesBit : 0)
            | (f.predictions ? predictionsBit : 0)
    }

    public var current: FeatureFlags { value.withLock { $0 } }

    /// Replaces the flags; returns the previous ones.
    @discardableResult
    func replace(with new: FeatureFlags) -> FeatureFlags {
        let old = value.withLock { v in
            defer { v = new }
            return v
        }
        bits.store(Self.bits(of: new), ordering: .relaxed)
        return old
    }

    private func on(_ bit: UInt8) -> Bool { bits.load(ordering: .relaxed) & bit != 0 }
    var v2Sessions: Bool { on(Self.v2SessionsBit) }
    var autoLearn: Bool { on(Self.autoLearnBit) }
    var emotives: Bool { on(Self.emotivesBit) }
    var predictions: Bool { on(Self.predictionsBit) }

    /// UNIMPLEMENTED (`FEATURE_DISABLED`) for a call that names a session while the v2 session
    /// API is off; default-session calls (no `session_id`) pass.
    func checkSessions(_ sessionID: String) throws {
        if !sessionID.isEmpty, !v2Sessions { throw Self.disabled("v2_sessions", "the v2 session API") }
    }

    /// The same for every SessionService method.
    func checkSessionService() throws {
        if !v2Sessions { throw Self.disabled("v2_sessions", "the v2 session API") }
    }

    func checkEmotives(_ emotives: Bool) throws {
        if emotives, !self.emotives { throw Self.disabled("emotives", "emotives") }
    }

    static func disabled(_ flag: String, _ what: String) -> KatoError {
        .featureDisabled(flag: flag, message: "\(what) is switched off on this server (feature flag \(flag)); nothing was changed")
    }

    /// Predictions as the flags allow: unchanged, or none with the trailer that says they are off.
    func visiblePredictions<List: ExpressibleByArrayLiteral>(_ list: List, _ context: ServerContext) -> List {
        if predictions { return list }
        context.addTrailingMetadata("disabled", forKey: "kato-predictions")
        return []
    }
}

/// `kato_feature_enabled{feature}` and `kato_flags_reload_failures_total`, every label value
/// registered when the server starts (the alert rules and dashboards rely on the names).
enum FlagMetrics {
    static let reloadFailures = Counter(label: "kato_flags_reload_failures_total")
    static let reloads = Counter(label: "kato_flags_reloads_total")

    static func record(_ flags: FeatureFlags) {
        for (name, enabled) in flags.features {
            Gauge(label: "kato_feature_enabled", dimensions: [("feature", name)]).record(enabled ? 1 : 0)
        }
    }
}

extension LiveFlags {
    /// `SessionRegistry.resolve` behind the v2-sessions flag: a named session is refused while
    /// the flag is off (the default session of a node is not).
    func resolve(
        _ sessions: SessionRegistry, sessionID: String, nodeID: String, for access: SessionAccess, _ context: ServerContext
    ) throws(KatoError) -> Session {
        if !sessionID.isEmpty, !v2Sessions { throw Self.disabled("v2_sessions", "the v2 session API") }
        return try sessions.resolve(sessionID: sessionID, nodeID: nodeID, for: access, context)
    }
}
