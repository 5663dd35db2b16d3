import GRPCH2
import ProtobufCBridge

extension ServiceProvider {
    /// `ServerMethod.unary`, so that a service's `methods` list reads `unary(descriptor) { … }`
    /// beside `.serverStreaming(…)`. Interceptors are not added here: the router composes
    /// its chain into every method (`ServiceRouter.addInterceptor`); declared with the type of
    /// kato's chain, a method gets it specialized and inlined (`KatoInterceptors`).
    func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        .unary(descriptor, interceptedBy: KatoInterceptors.self, handler: handler)
    }
}
