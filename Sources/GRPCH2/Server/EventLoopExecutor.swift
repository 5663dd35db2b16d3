import GRPCH2Core
import NIOCore

/// Runs Swift tasks on a NIO event loop (a `TaskExecutor`), so a handler started from a
/// connection runs on that connection's thread: no wake-up of another thread per call and
/// no hop back for the response. On a 2-core machine the hops cost more than the calls
/// (see docs/ARCHITECTURE.md, "Where handlers run").
@usableFromInline
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    @usableFromInline
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { [self] in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
