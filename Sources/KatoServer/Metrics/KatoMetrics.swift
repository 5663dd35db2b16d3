import Metrics

/// kato's own metrics, through the swift-metrics facade (the executable picks the backend;
/// `kato-server` uses Prometheus). Handles are made after bootstrap, when the app starts
/// (``registerFamilies()``), so every family is on `/metrics` before its first event: the alert
/// rules and dashboards in deploy/ rely on the names.
enum KatoMetrics {
    /// Observations applied to a session's STM (one per observation of a sequence or stream).
    static let observations = Counter(label: "kato_observations_total")
    /// Patterns learned, explicitly or by auto-learn.
    static let patternsLearned = Counter(label: "kato_patterns_learned_total")
    /// Time of the engine work of one observation, which recomputes the session's predictions.
    static let predictionSeconds = Metrics.Timer(label: "kato_predictions_seconds")
    /// Live sessions (default sessions excluded); set when metrics are scraped.
    static let sessionsActive = Gauge(label: "kato_sessions_active")
    /// Open prediction subscriptions (SubscribePredictions streams); set when metrics are scraped.
    static let subscribersActive = Gauge(label: "kato_subscribers_active")
    /// 0 NORMAL, 1 DEGRADED, 2 ESSENTIAL, 3 MAINTENANCE; set when metrics are scraped.
    static let degradationLevel = Gauge(label: "kato_degradation_level")
    /// The store's circuit breaker: 0 closed, 1 open, 2 half-open; set when metrics are scraped
    /// (absent without a durable store).
    static let circuitBreakerState = Gauge(label: "kato_circuit_breaker_state")
    /// The configured session limit (`kato_sessions_active` / this = how near the limit is).
    static let sessionsLimit = Gauge(label: "kato_sessions_limit")
    /// Predictions cut into pieces run on several cores (`--prediction-threads`).
    static let predictionsSplit = Counter(label: "kato_predictions_split_total")

    /// Makes every unlabelled handle now, and the labelled families whose label values are known.
    static func registerFamilies() {
        _ = (observations, patternsLearned, predictionSeconds, sessionsActive, degradationLevel)
        _ = (subscribersActive, sessionsLimit, predictionsSplit)
    }
}
