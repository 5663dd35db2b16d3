/// A thread the caller lends a `KnowledgeBaseLoader` to build pattern shapes while rows are still
/// being read (KatoStore's loads give one): the engine itself starts no thread and blocks on
/// nothing of its own. `start(job)` runs `job` once on another thread and returns at once a
/// function that, called, returns when `job` has returned.
public struct LoaderWorker: Sendable {
    public var start: @Sendable (_ job: @escaping @Sendable () -> Void) -> @Sendable () -> Void

    public init(start: @escaping @Sendable (_ job: @escaping @Sendable () -> Void) -> @Sendable () -> Void) {
        self.start = start
    }
}
