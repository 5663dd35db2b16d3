import KatoEngine
import KatoWire

/// The consumer of the timed query (issue 15, honest counting): a prediction is computed to be
/// read, so the timed step is observe + get_predictions + reading every field of every prediction
/// and future potential — the UTF-8 length of every symbol of every field, every number — which
/// is what any response encoder must at least do. Without it, work left for the reader (compact
/// predictions build their string arrays when read) would fall outside the measurement.
///
/// `--consumer in-place` (default): reads the symbols in place one event per call (`forEachEvent`,
/// `forEachMatchPiece`, `forEachFutureEvent`), as the server's protobuf encoders do;
/// `--consumer per-symbol`: in place, one call per symbol (`forEachSymbol`, `forEachMatch`,
/// `forEachFutureSymbol`: the sixth pass's readers); `--consumer arrays`: reads the array
/// properties (`matches`, `past`, …), as the JSON codec and older callers do; `none`: reads
/// nothing (the measurement of the passes before the sixth); `--consumer wire`: encodes the
/// `GetPredictionsResponse` exactly as the server's GetPredictions does (`PredictionsResponseEncoder`,
/// the same code) — what a prediction really costs a gRPC server, short of the transport.
extension EngineBenchmark {
    enum Consumer: String, Sendable { case inPlace = "in-place", perSymbol = "per-symbol", arrays, wire, none }

    static let consumer: Consumer = {
        let args = CommandLine.arguments
        if let i = args.firstIndex(of: "--consumer"), i + 1 < args.count, let c = Consumer(rawValue: args[i + 1]) { return c }
        return .inPlace
    }()

    nonisolated(unsafe) static var consumed = 0
    /// Bytes and number of the responses `--consumer wire` encoded (timed queries and warm-up alike).
    nonisolated(unsafe) static var wireBytes = 0
    nonisolated(unsafe) static var wireResponses = 0

    /// Reads everything the session's last observe produced (see the type's comment).
    @inline(never)
    static func consume(_ session: SessionState) {
        switch consumer {
        case .inPlace: consumed &+= consumeInPlace(session)
        case .perSymbol: consumed &+= consumePerSymbol(session)
        case .arrays: consumed &+= consumeArrays(session)
        case .wire: consumed &+= consumeWire(session)
        case .none: break
        }
    }

    @inline(__always)
    static func bits(_ xs: Double...) -> Int {
        var h = 0
        for x in xs { h = h &* 31 &+ Int(truncatingIfNeeded: x.bitPattern) }
        return h
    }

    static func scalars(_ p: Prediction) -> Int {
        var n = p.type.utf8.count &+ p.name.utf8.count &+ p.frequency
        for (k, v) in p.emotives { n &+= k.utf8.count &+ Int(truncatingIfNeeded: v.bitPattern) }
        return n &+ bits(
            p.potential, p.evidence, p.similarity, p.fragmentation, p.snr, p.entropy, p.normalizedEntropy,
            p.globalNormalizedEntropy, p.confluence, p.predictiveInformation, p.confidence, p.itfdfSimilarity,
            p.patternProbability, p.weightedStrength)
    }

    static func consumeArrays(_ session: SessionState) -> Int {
        var n = 0
        for p in session.predictions {
            n &+= scalars(p)
            for s in p.matches { n &+= s.utf8.count }
            for events in [p.past, p.present, p.future, p.missing, p.extras, p.sequence] {
                for e in events {
                    n &+= 1
                    for s in e { n &+= s.utf8.count }
                }
            }
        }
        for f in session.futurePotentials {
            n &+= bits(f.aggregatePotential, f.totalWeightedFrequency) &+ f.supportingPatterns
            for e in f.future {
                n &+= 1
                for s in e { n &+= s.utf8.count }
            }
        }
        return n
    }

    /// UTF-8 bytes of the selected symbols of one piece.
    @inline(__always)
    static func utf8Count(_ symbols: Span<String>, _ selected: UInt64) -> Int {
        var n = 0
        var m = selected
        while m != 0 {
            n &+= symbols[m.trailingZeroBitCount].utf8.count
            m &= m &- 1
        }
        return n
    }

    static func consumeInPlace(_ session: SessionState) -> Int {
        var n = 0
        for p in session.predictions {
            n &+= scalars(p)
            p.forEachMatchPiece { symbols, selected in n &+= utf8Count(symbols, selected) }
            for field in Prediction.EventsField.allCases {
                n &+= p.eventCount(field)
                p.forEachEvent(in: field) { _, symbols, selected in n &+= utf8Count(symbols, selected) }
            }
        }
        for f in session.futurePotentials {
            n &+= bits(f.aggregatePotential, f.totalWeightedFrequency) &+ f.supportingPatterns &+ f.futureEventCount
            f.forEachFutureEvent { _, symbols in
                for i in symbols.indices { n &+= symbols[i].utf8.count }
            }
        }
        return n
    }

    /// The server's GetPredictions response (a session id of the server's form, `session-<32 hex>-<ms>`).
    static func consumeWire(_ session: SessionState) -> Int {
        let bytes = PredictionsResponseEncoder.encode(
            sessionID: "session-0123456789abcdef0123456789abcdef-1765000000000",
            predictions: session.predictions, futurePotentials: session.futurePotentials)
        wireBytes &+= bytes.count
        wireResponses &+= 1
        return bytes.count &+ Int(bytes.last ?? 0)
    }

    static func consumePerSymbol(_ session: SessionState) -> Int {
        var n = 0
        for p in session.predictions {
            n &+= scalars(p)
            p.forEachMatch { n &+= $0.utf8.count }
            for field in Prediction.EventsField.allCases {
                n &+= p.eventCount(field)
                p.forEachSymbol(in: field) { _, s in n &+= s.utf8.count }
            }
        }
        for f in session.futurePotentials {
            n &+= bits(f.aggregatePotential, f.totalWeightedFrequency) &+ f.supportingPatterns &+ f.futureEventCount
            f.forEachFutureSymbol { _, s in n &+= s.utf8.count }
        }
        return n
    }
}
