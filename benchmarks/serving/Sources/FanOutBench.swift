// Subscriptions at scale: `sessions` sessions (predictions on, one node with a `patterns`-pattern
// knowledge base), `subscribers` SubscribePredictions streams on each spread over
// `sub-connections` connections, observers on their own connections driving them for `seconds`.
// Measures delivered updates/s, the delay from an Observe reply (at the observer) to the update
// at each subscriber (same process, same clock), sequences a subscriber never saw, server RSS
// per subscriber; `--stuck N` adds N subscribers that never read (StuckSubscriber.swift).
import ArgumentParser
import Foundation
import GRPCH2
import KatoProto
import NIOCore
import NIOPosix
import ProtobufCBridge
import Synchronization
import KatoSupport

struct FanOutBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fanout")
    @OptionGroup var server: ServerOptions
    @Option var sessions = 1000
    @Option(help: "Subscribers per session.") var subscribers = 10
    @Option var subConnections = 100
    @Option var observeConnections = 4
    @Option(help: "Observe/ClearSTM calls in flight.") var observers = 64
    @Option var seconds = 10.0
    @Option var patterns = 1000
    @Option(help: "Symbols the patterns are drawn from.") var vocabulary = 300
    @Option(help: "Subscribers that never read (one TCP connection each).") var stuck = 0
    @Option var node = "fanout-bench"
    @Option(help: "counting: raw HTTP/2, only each update's sequence read (CountingConnection.swift); lean: GRPCClient, a task per subscriber on its connection's loop, the update's head decoded (LeanReceive.swift); full: GRPCClient on the global executor, full decode.")
    var receive: ReceiveMode = .counting
    @Option(help: "counting: Observe/ClearSTM as raw HTTP/2 unary calls, each connection's observers driven from its event loop (CountingObservers.swift); grpc: a task per observer through GRPCClient.")
    var observe: ObserveMode = .counting

    final class Counters: Sendable {
        let ready = Atomic<Int>(0)
        let received = Atomic<Int>(0)
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let control = try await server.connect(observeConnections, group: group)
        let clock = ContinuousClock()
        let node = self.node

        // 1. Knowledge base: `patterns` 3-event patterns of one symbol per event.
        var rng = SplitMix64(seed: 15)
        let kb: [[String]] = (0..<patterns).map { _ in (0..<3).map { _ in "v\(rng.next() % UInt64(vocabulary))" } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for w in 0..<16 {
                tasks.addTask {
                    let client = control[w % control.count]
                    var create = Kato_V2_CreateSessionRequest()
                    create.nodeID = node
                    let learner = try await client.unary(Kato_V2_SessionService.createSession, create).sessionID
                    for p in stride(from: w, to: kb.count, by: 16) {
                        var request = Kato_V2_ObserveSequenceRequest()
                        request.sessionID = learner
                        request.learnAtEnd = true
                        request.observations = kb[p].map { symbol in
                            var o = Kato_V2_Observation()
                            o.strings = [symbol]
                            return o
                        }
                        _ = try await client.unary(Kato_V2_ObserveService.observeSequence, request, timeout: .seconds(60))
                    }
                }
            }
            try await tasks.waitForAll()
        }

        // 2. Sessions (default config: predictions on).
        var ids: [String] = []
        for s in 0..<sessions {
            var create = Kato_V2_CreateSessionRequest()
            create.nodeID = node
            ids.append(try await control[s % control.count].unary(Kato_V2_SessionService.createSession, create).sessionID)
        }
        let sessionIDs = ids
        let rssBefore = server.rssKiB

        // 3. Subscribers; each waits for its initial update so all are registered before observing.
        let loops = Array(group.makeIterator())
        let executors = loops.map(LoopExecutor.init)
        let counters = Counters()
        let lean = receive == .lean
        let origin = clock.now
        let subscriberCount = sessions * subscribers
        let requests = (0..<subscriberCount).map { k in
            var request = Kato_V2_SubscribePredictionsRequest()
            request.sessionID = sessionIDs[k / subscribers]
            request.sendInitial = true
            return request.serializedBytes()
        }
        let counting = receive == .counting
            ? try await CountingSubscribers.start(server, loops: loops, connections: subConnections,
                                                  path: Kato_V2_PredictService.subscribePredictions.path, requests: requests,
                                                  mode: .updates(origin: origin), progress: { initials, received in
                                                      if initials > 0 { counters.ready.add(initials, ordering: .relaxed) }
                                                      if received > 0 { counters.received.add(received, ordering: .relaxed) }
                                                  })
            : nil
        let subClients = counting == nil ? try await server.connect(subConnections, loops: loops) : []
        // GRPCClient subscribers (`--receive lean|full`): a task each.
        let subscriptions: Task<[(Int, [Int64], [Double], Int)], any Error>? = counting != nil ? nil : Task {
            try await withThrowingTaskGroup(of: (Int, [Int64], [Double], Int).self) { tasks in
                for k in 0..<subscriberCount {
                    let s = k / subscribers
                    let c = k % subClients.count
                    tasks.addTask(executorPreference: lean ? executors[c % executors.count] : nil) {
                        var request = Kato_V2_SubscribePredictionsRequest()
                        request.sessionID = sessionIDs[s]
                        request.sendInitial = true
                        var sequences: [Int64] = [], times: [Double] = [], bytes = 0
                        // Sequence, cause and size of each update, from the head only or the full message.
                        func receive<M: ProtoMessage>(_: M.Type, _ head: (M) -> (Int64, Int32, Int)) async throws {
                            let call = try await subClients[c].start(path: Kato_V2_PredictService.subscribePredictions.path)
                            call.send(request.serializedBytes(), end: true)
                            for try await update in call.responses(M.self) {
                                let (sequence, cause, size) = head(update)
                                if cause == Kato_V2_UpdateCause.initial.rawValue {
                                    counters.ready.add(1, ordering: .relaxed)
                                    continue
                                }
                                times.append((clock.now - origin).seconds)
                                sequences.append(sequence)
                                counters.received.add(1, ordering: .relaxed)
                                if k % subscribers == 0 { bytes += size }  // one subscriber per session
                            }
                        }
                        do {
                            if lean {
                                try await receive(UpdateHead.self) { ($0.sequence, $0.cause, $0.size) }
                            } else {
                                try await receive(Kato_V2_PredictionUpdate.self) { ($0.sequence, $0.cause.rawValue, $0.serializedBytes().count) }
                            }
                        } catch where Task.isCancelled {
                            // the end of the run
                        }
                        return (s, sequences, times, bytes)
                    }
                }
                var all: [(Int, [Int64], [Double], Int)] = []
                for try await r in tasks { all.append(r) }
                return all
            }
        }
        let readyBy = clock.now + .seconds(120)
        while counters.ready.load(ordering: .relaxed) < subscriberCount && clock.now < readyBy {
            try await Task.sleep(for: .milliseconds(50))
        }
        let ready = counters.ready.load(ordering: .relaxed)
        guard ready == subscriberCount else {
            subscriptions?.cancel()
            await counting?.close()
            print("only \(ready) of \(subscriberCount) subscriptions started"); throw ExitCode(1)
        }
        let rssSubscribed = server.rssKiB

        // 4. Stuck subscribers (never read) on the first sessions.
        var stuckOnes: [StuckSubscriber] = []
        for i in 0..<stuck {
            stuckOnes.append(try StuckSubscriber(host: server.host, port: server.port, sessionID: sessionIDs[i % sessionIDs.count]))
        }
        try await Task.sleep(for: .milliseconds(300))
        let rssStuck = server.rssKiB

        // 5. Observers: each owns sessions s ≡ w (mod observers) and cycles them through
        // Observe(e1), Observe(e2), Observe(e3), ClearSTM — four updates per cycle, each a
        // sequence number; reply times are kept per session and sequence.
        let cpu0 = server.cpuSeconds, clientCPU0 = processCPUSeconds(0)
        FileHandle.standardError.write(Data("load starts\n".utf8))  // for a profiler to attach now
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let workers = min(observers, sessions)
        var failedCalls = 0
        let replies: [[Double]]
        if observe == .counting {
            // The same calls as below, encoded by hand: ObserveRequest {1: session_id, 3: strings},
            // ClearShortTermMemoryRequest {1: session_id}.
            let idBytes = sessionIDs.map { id in [0x0A, UInt8(id.utf8.count)] + Array(id.utf8) }
            let symbols = kb.map { $0.map { [0x1A, UInt8($0.utf8.count)] + Array($0.utf8) } }
            let observePath = Kato_V2_ObserveService.observe.path, clearPath = Kato_V2_ObserveService.clearShortTermMemory.path
            let run = try await CountingObservers.run(
                server, loops: loops, connections: observeConnections,
                observers: (0..<workers).map { w in Array(stride(from: w, to: sessionIDs.count, by: workers)) },
                origin: origin, deadline: deadline) { s, op in
                    op % 4 == 3 ? (clearPath, idBytes[s]) : (observePath, idBytes[s] + symbols[(s &* 31 &+ op / 4) % kb.count][op % 4])
                }
            var all = [[Double]](repeating: [], count: sessionIDs.count)
            for observer in try await run.results() {
                failedCalls += observer.failed
                for (j, s) in observer.sessions.enumerated() { all[s] = observer.times[j] }
            }
            await run.close()
            replies = all
        } else {
            replies = try await withThrowingTaskGroup(of: [(Int, [Double])].self) { tasks in
                for w in 0..<workers {
                    tasks.addTask {
                        let mine = Array(stride(from: w, to: sessionIDs.count, by: workers))
                        var times = [[Double]](repeating: [], count: mine.count)
                        var op = 0
                        while clock.now < deadline {
                            for (j, s) in mine.enumerated() {
                                let client = control[(w + j) % control.count]
                                if op % 4 == 3 {
                                    var request = Kato_V2_ClearShortTermMemoryRequest()
                                    request.sessionID = sessionIDs[s]
                                    _ = try await client.unary(Kato_V2_ObserveService.clearShortTermMemory, request, timeout: .seconds(60))
                                } else {
                                    var request = Kato_V2_ObserveRequest()
                                    request.sessionID = sessionIDs[s]
                                    request.strings = [kb[(s &* 31 &+ op / 4) % kb.count][op % 4]]
                                    _ = try await client.unary(Kato_V2_ObserveService.observe, request, timeout: .seconds(60))
                                }
                                times[j].append((clock.now - origin).seconds)
                            }
                            op += 1
                        }
                        return mine.enumerated().map { ($1, times[$0]) }
                    }
                }
                var all = [[Double]](repeating: [], count: sessionIDs.count)
                for try await batch in tasks { for (s, t) in batch { all[s] = t } }
                return all
            }
        }
        guard failedCalls == 0 else { print("\(failedCalls) Observe/ClearSTM calls failed"); throw ExitCode(1) }
        let observeEnd = clock.now
        let observeCalls = replies.reduce(0) { $0 + $1.count }
        let expected = replies.reduce(0) { $0 + $1.count } * subscribers

        // 6. Wait until every update arrived (or nothing more arrives for 2 s), then end the streams.
        var last = -1, quietSince = clock.now
        while counters.received.load(ordering: .relaxed) < expected {
            let now = counters.received.load(ordering: .relaxed)
            if now != last { last = now; quietSince = clock.now }
            if clock.now - quietSince > .seconds(2) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let cpuSeconds = server.cpuSeconds - cpu0, clientCPUSeconds = processCPUSeconds(0) - clientCPU0
        let rssAfter = server.rssKiB
        let received: [(Int, [Int64], [Double], Int)]
        if let counting {
            received = try await counting.results().enumerated().map { k, call in
                (k / subscribers, call.sequences, call.times, k % subscribers == 0 ? call.bytes : 0)
            }
            await counting.close()
        } else {
            subscriptions?.cancel()
            received = try await subscriptions?.value ?? []
        }

        // 7. Delays (Observe reply -> update at the subscriber) and unseen sequences.
        var delays: [Double] = []
        delays.reserveCapacity(expected)
        var lastArrival = 0.0, missed = 0, sampledBytes = 0, sampled = 0
        for (s, sequences, times, bytes) in received {
            if bytes > 0 { sampledBytes += bytes; sampled += sequences.count }
            let sent = replies[s]
            missed += sent.count - Set(sequences).count
            for (sequence, t) in zip(sequences, times) where sequence >= 1 && Int(sequence) <= sent.count {
                delays.append((t - sent[Int(sequence) - 1]) * 1e6)
                lastArrival = max(lastArrival, t)
            }
        }
        delays.sort()
        let delivered = delays.count
        let window = lastArrival - (start - origin).seconds
        for s in stuckOnes { s.close() }
        try printJSON([
            "sessions": sessions, "subscribers": subscriberCount, "sub_connections": subConnections, "patterns": patterns,
            "observers": workers, "observe_calls": observeCalls, "observe_per_s": Double(observeCalls) / (observeEnd - start).seconds,
            "updates_expected": expected, "updates_delivered": delivered, "updates_missed": missed,
            "updates_per_s": Double(delivered) / window, "window_s": window,
            "delay_p50_us": percentile(delays, 0.5), "delay_p99_us": percentile(delays, 0.99), "delay_max_us": delays.last ?? 0,
            "server_cpu_us_per_update": cpuSeconds / Double(max(1, delivered)) * 1e6,
            "client_cpu_us_per_update": clientCPUSeconds / Double(max(1, delivered)) * 1e6,
            "rss_kib_sessions": rssBefore, "rss_kib_subscribed": rssSubscribed, "rss_kib_with_stuck": rssStuck, "rss_kib_after": rssAfter,
            "bytes_per_subscriber": Double(rssSubscribed - rssBefore) * 1024 / Double(subscriberCount),
            "stuck": stuck, "receive": receive.rawValue, "observe": observe.rawValue, "update_bytes_mean": sampled == 0 ? 0 : sampledBytes / sampled,
        ])
        for client in control + subClients { await client.close() }
        try await group.shutdownGracefully()
    }
}
