import Dispatch
import KatoEngine

extension LoaderWorker {
    /// A Dispatch thread for the loader's shape builder: the store owns the threads its loads
    /// use, the engine starts none.
    static let dispatch = LoaderWorker { job in
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            job()
            done.leave()
        }
        return { done.wait() }
    }
}
