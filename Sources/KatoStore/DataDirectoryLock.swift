import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `<data-dir>/LOCK`, held for the life of the value's owner, so two
/// processes never open the same data directory. The file records the holder's pid.
public final class DataDirectoryLock: Sendable {
    private let fd: Locked<Int32?>
    public let path: String

    /// Creates the directory if needed and takes the lock, or throws `.locked` naming the holder.
    public init(directory: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.readOnly, "cannot create data directory \(directory): \(error.localizedDescription)")
        }
        path = (directory as NSString).appendingPathComponent("LOCK")
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0, errno == EROFS || errno == EACCES {
            // A read-only directory: an existing lock file can still be locked for reading tools.
            fd = open(path, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else {
            throw StoreError(.readOnly, "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw StoreError(.locked,
                "data directory \(directory) is in use by another process\(holder.isEmpty ? "" : " (pid \(holder))"); stop it first")
        }
        self.fd = Locked(fd)
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    /// Releases the lock (idempotent; also done on deinit).
    public func release() {
        fd.withLock { fd in
            guard let f = fd else { return }
            flock(f, LOCK_UN)
            close(f)
            fd = nil
        }
    }

    deinit {
        release()
    }
}
