import GRPCH2
import KatoEngine

/// What every kato handler does around its work: turn the engine's errors into `KatoError`s
/// (the status, with the trace id, is made once at the edge: `KatoError`'s
/// `RPCErrorConvertible` conformance), and tell the engine when to give up.
enum CallSupport {
    static func serve<R>(_ context: ServerContext, _ body: () throws -> R) throws -> R {
        do {
            if Task.isCancelled { throw KatoError.cancelled }
            if DeadlineStatus.hasPassed(context.deadline) { throw KatoError.deadlineExceeded }
            return try body()
        } catch {
            throw mapped(error)
        }
    }

    /// `error` in KATO's vocabulary: a `KatoError`, or an `RPCError` made elsewhere; anything
    /// else is an internal error that says nothing of its cause.
    static func mapped(_ error: any Error) -> any Error {
        if let kato = KatoError.from(error) { return kato }
        if error is RPCError { return error }
        return KatoError.unavailable(reason: "INTERNAL", message: "internal error")
    }

    /// Polled by long engine work: false once the call is cancelled or past its deadline.
    static func shouldContinue(_ context: ServerContext) -> () -> Bool {
        let deadline = context.deadline
        return { !Task.isCancelled && (deadline.map { ContinuousClock.now < $0 } ?? true) }
    }
}
