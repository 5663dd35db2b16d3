import GRPCH2
import KatoEngine

/// What every kato handler does around its work: map errors to statuses with the call's
/// trace id (the one place KatoError becomes RPCError), and tell the engine when to give up.
enum CallSupport {
    static func serve<R>(_ context: ServerContext, _ body: () throws -> R) throws -> R {
        do {
            if Task.isCancelled { throw KatoError.cancelled }
            if DeadlineStatus.hasPassed(context.deadline) { throw KatoError.deadlineExceeded }
            return try body()
        } catch {
            throw mapped(error, context)
        }
    }

    static func mapped(_ error: any Error, _ context: ServerContext) -> any Error {
        if let kato = KatoError.from(error) { return kato.rpcError(traceID: context.traceID) }
        if error is RPCError { return error }
        return KatoError.unavailable(reason: "INTERNAL", message: "internal error").rpcError(traceID: context.traceID)
    }

    /// Polled by long engine work: false once the call is cancelled or past its deadline.
    static func shouldContinue(_ context: ServerContext) -> () -> Bool {
        let deadline = context.deadline
        return { !Task.isCancelled && (deadline.map { ContinuousClock.now < $0 } ?? true) }
    }
}
