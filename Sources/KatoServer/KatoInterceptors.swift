import GRPCH2
import Logging

/// kato's interceptors as one chain, outermost first: trace (trace id, span, access log; the
/// edge where errors become statuses), metrics, auth, rate limits (keyed on the principal auth
/// found), degradation (with a store); each but the trace nil when off.
///
/// A named `ComposedStages` type: every member's bound form is a `StagedInterceptor`, so bound
/// to a method the five run as one stage (their `before` steps in order, one `await` of the
/// handler, their after steps in reverse), and the services declare their typed unary methods
/// with this type (`ServiceProvider.unary`), so the router's chain is specialized for each
/// method's messages. Each member is written once, in its own class; the router binds each to
/// the methods it concerns.
typealias KatoInterceptors = ComposedStages<
    TraceInterceptor,
    ComposedStages<
        GRPCMetricsInterceptor?,
        ComposedStages<AuthInterceptor?, ComposedStages<RateLimitInterceptor?, DegradationInterceptor?>>
    >
>

extension KatoServerApp {
    /// The chain for configuration `c` (see `KatoInterceptors`).
    static func interceptors(
        _ c: Configuration, services: [any ServiceProvider], degradation: DegradationInterceptor?, logger: Logger
    ) -> KatoInterceptors {
        var open: Set<String> = []
        if c.openHealth { open.insert(Self.healthService) }
        if c.openReflection { open.formUnion(ReflectionService.serviceNames) }
        let trace = TraceInterceptor(logger: logger, accessLogLevel: c.accessLogLevel, lineSink: c.accessLogSink)
        let metrics = c.grpcMetrics ? GRPCMetricsInterceptor(services: services) : nil
        let auth = c.authenticator.map { AuthInterceptor(authenticator: $0, openServices: open, logger: logger) }
        let rateLimits = c.rateLimits == .unlimited
            ? nil : RateLimitInterceptor(configuration: c.rateLimits, exempt: Set([Self.healthService] + ReflectionService.serviceNames))
        return ComposedStages(trace, ComposedStages(metrics, ComposedStages(auth, ComposedStages(rateLimits, degradation))))
    }
}
