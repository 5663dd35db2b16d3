import GRPCH2Core
import Dispatch
import Glibc

/// Runs a callback once when the process gets SIGTERM or SIGINT, through a self-pipe.
///
/// Not a `DispatchSource` signal source with `signal(SIGTERM, SIG_IGN)`: on Linux, once async
/// main is in `dispatch_main`, the main thread waits in `sigsuspend` with no signal blocked,
/// so the kernel may hand it the signal - discarded there as ignored - before libdispatch's
/// signalfd reads it (about 1 server in 30 signalled right after start never shut down).
/// A real handler runs wherever the signal lands; `write` is async-signal-safe.
public enum ProcessTermination {
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) private static var source: (any DispatchSourceRead)?

    /// Installs the handler; call it before announcing the listening address.
    public static func onSignal(_ body: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("pipe: \(errno)") }
        writeFD = fds[1]
        let readFD = fds[0]
        let source = DispatchSource.makeReadSource(fileDescriptor: readFD, queue: .global())
        source.setEventHandler {
            var byte: UInt8 = 0
            _ = read(readFD, &byte, 1)
            ProcessTermination.source?.cancel()  // once: a second signal changes nothing
            body()
        }
        source.resume()
        self.source = source
        for sig in [SIGTERM, SIGINT] {
            signal(sig) { _ in
                var byte: UInt8 = 1
                _ = write(ProcessTermination.writeFD, &byte, 1)
            }
        }
    }
}
