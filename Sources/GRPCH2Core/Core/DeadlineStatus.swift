/// The one mapping from a call's deadline to its status, used by the server (its deadline
/// timer), the client (its own timer) and interceptors (a handler cut short by cancellation).
public enum DeadlineStatus {
    /// The error a call ends with when its deadline passes (`grpc-status 4`).
    public static let exceeded = RPCError(code: .deadlineExceeded, message: "deadline exceeded")

    /// Whether `deadline` has passed at `now` (never, without a deadline).
    @inlinable
    public static func hasPassed(_ deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now) -> Bool {
        guard let deadline else { return false }
        return deadline <= now
    }

    /// The status the peer gets for a call that ended with `code`: the server cancels a
    /// handler when its deadline passes, and that cancellation is DEADLINE_EXCEEDED, not
    /// CANCELLED (the client did not cancel).
    @inlinable
    public static func resolve(_ code: StatusCode, deadline: ContinuousClock.Instant?,
                               now: @autoclosure () -> ContinuousClock.Instant = .now) -> StatusCode {
        if code == .cancelled, hasPassed(deadline, now: now()) { return .deadlineExceeded }
        return code
    }
}
