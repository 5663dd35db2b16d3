import Foundation
import KatoEngine

/// Runs golden-vector cases (`/work/shared/golden/README.md` format) against the engine.
struct ConformanceRunner {
    struct CaseFailure {
        var id: String
        var message: String
    }

    struct Summary {
        var passed = 0
        var failed = 0
        var failures: [CaseFailure] = []
    }

    /// Runs every `*.jsonl` file in `directories` (sorted by name), every line one case.
    static func run(directories: [String]) -> Summary {
        var summary = Summary()
        for dir in directories {
            let files: [String]
            do {
                files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jsonl") }.sorted()
            } catch {
                summary.failed += 1
                summary.failures.append(CaseFailure(id: dir, message: "cannot read directory: \(error)"))
                continue
            }
            for file in files {
                let path = (dir as NSString).appendingPathComponent(file)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    summary.failed += 1
                    summary.failures.append(CaseFailure(id: path, message: "cannot read file"))
                    continue
                }
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed.isEmpty { continue }
                    let result: (String, String?)
                    do {
                        let json = try JSON.parse(String(trimmed))
                        result = runCase(json)
                    } catch {
                        result = ("\(file):\(n + 1)", "invalid case JSON: \(error)")
                    }
                    if let message = result.1 {
                        summary.failed += 1
                        summary.failures.append(CaseFailure(id: result.0, message: message))
                    } else {
                        summary.passed += 1
                    }
                }
            }
        }
        return summary
    }

    /// Runs one case; returns its id and the first difference (nil when it passes).
    static func runCase(_ json: JSON) -> (String, String?) {
        let id = json["id"]?.stringValue ?? "<no id>"
        let config: EngineConfig
        do {
            config = try engineConfig(json["config"] ?? .object([]))
        } catch {
            return (id, "invalid config: \(error)")
        }
        let engine = KatoEngine(knowledgeBase: KnowledgeBase())
        var session: SessionState
        do {
            session = try SessionState(config: config)
        } catch {
            return (id, "invalid config: \(error)")
        }
        for (index, step) in (json["steps"]?.arrayValue ?? []).enumerated() {
            let op = step["op"]?.stringValue ?? "<missing op>"
            let input = step["input"] ?? .object([])
            let actual: JSON
            do {
                actual = try perform(op: op, input: input, engine: engine, session: &session)
            } catch let error as UnknownOp {
                return (id, "step \(index) (\(op)): unknown op \(error.op)")
            } catch {
                actual = .object([("status", .string("error")), ("message", .string("\(error)"))])
            }
            if let expect = step["expect"], let diff = Comparison.firstDifference(expected: expect, actual: actual, path: "") {
                return (id, "step \(index) (\(op)) \(diff)")
            }
        }
        return (id, nil)
    }

    struct UnknownOp: Error { var op: String }

    static func perform(op: String, input: JSON, engine: KatoEngine, session: inout SessionState) throws -> JSON {
        switch op {
        case "observe":
            let r = try engine.observe(try observation(input), in: &session)
            return .object([
                ("status", .string("okay")), ("stm_length", .int(Int64(r.stmLength))), ("time", .int(Int64(r.time))),
                ("auto_learned_pattern", r.autoLearnedPattern.map(JSON.string) ?? .null),
                ("symbols", .array(r.symbols.map(JSON.string))),
            ])
        case "learn":
            let r = engine.learn(in: &session)
            return .object([("pattern_name", .string(r.patternName)), ("stm_length", .int(Int64(session.stm.count)))])
        case "predictions":
            return .object([
                ("predictions", .array(session.predictions.map(predictionJSON))),
                ("future_potentials", .array(session.futurePotentials.map(futurePotentialJSON))),
            ])
        case "stm":
            return .object([("stm", events(session.stm))])
        case "clear_stm":
            engine.clearSTM(in: &session)
            return .object([("stm_length", .int(Int64(session.stm.count)))])
        case "clear_all":
            engine.clearAll(in: &session)
            return .object([("stm_length", .int(Int64(session.stm.count)))])
        case "pattern":
            let name = input["name"]?.stringValue ?? ""
            guard let p = engine.pattern(named: name) else {
                return .object([("status", .string("error")), ("message", .string("Pattern \(name) not found"))])
            }
            return .object([("status", .string("okay")), ("pattern", patternJSON(p))])
        case "config":
            try session.updateConfig(try configUpdate(input))
            return .object([("status", .string("okay"))])
        case "observe_sequence":
            let observations = try (input["observations"]?.arrayValue ?? []).map(observation)
            let options = SequenceOptions(
                learnAfterEach: input["learn_after_each"]?.boolValue ?? false,
                learnAtEnd: input["learn_at_end"]?.boolValue ?? false,
                clearSTMBetween: input["clear_stm_between"]?.boolValue ?? false)
            let r = try engine.observeSequence(observations, options: options, in: &session)
            var fields: [(String, JSON)] = [
                ("status", .string("completed")), ("observations_processed", .int(Int64(r.observationsProcessed))),
                ("final_stm_length", .int(Int64(r.finalSTMLength))),
                ("auto_learned_patterns", .array(r.autoLearnedPatterns.map(JSON.string))),
                ("final_learned_pattern", r.finalLearnedPattern.map(JSON.string) ?? .null),
            ]
            if input["compact"]?.boolValue != true {
                fields.append(("results", .array(r.results.map { item in
                    .object([
                        ("status", .string("okay")), ("sequence_position", .int(Int64(item.sequencePosition))),
                        ("stm_length", .int(Int64(item.stmLength))), ("time", .int(Int64(item.time))),
                        ("auto_learned_pattern", item.autoLearnedPattern.map(JSON.string) ?? .null),
                    ])
                })))
            }
            return .object(fields)
        default:
            throw UnknownOp(op: op)
        }
    }

    // MARK: JSON → engine

    struct InputError: Error, CustomStringConvertible {
        var description: String
    }

    static func engineConfig(_ json: JSON) throws -> EngineConfig {
        var config = EngineConfig.defaults
        if let v = json["indexer_type"]?.stringValue { config.indexerType = try IndexerType(validating: v) }
        if let v = json["max_pattern_length"]?.intValue { config.maxPatternLength = v }
        if let v = json["persistence"]?.intValue { config.persistence = v }
        if let v = json["recall_threshold"]?.numberValue { config.recallThreshold = v }
        if let v = json["max_predictions"]?.intValue { config.maxPredictions = v }
        if let v = json["sort"]?.boolValue { config.sortSymbols = v }
        if let v = json["sort_symbols"]?.boolValue { config.sortSymbols = v }
        if let v = json["process_predictions"]?.boolValue { config.processPredictions = v }
        if let v = json["stm_mode"]?.stringValue { config.stmMode = try STMMode(validating: v) }
        try config.validate()
        return config
    }

    static func configUpdate(_ json: JSON) throws -> ConfigUpdate {
        var u = ConfigUpdate()
        for key in json.keys {
            let v = json[key]!
            switch key {
            case "max_pattern_length": u.maxPatternLength = v.intValue
            case "persistence": u.persistence = v.intValue
            case "recall_threshold": u.recallThreshold = v.numberValue
            case "max_predictions": u.maxPredictions = v.intValue
            case "process_predictions": u.processPredictions = v.boolValue
            case "sort", "sort_symbols": u.sortSymbols = v.boolValue
            case "stm_mode": u.stmMode = try STMMode(validating: v.stringValue ?? "")
            case "indexer_type": u.indexerType = try IndexerType(validating: v.stringValue ?? "")
            default: throw EngineValidationError(field: key, reason: "unknown configuration key")
            }
        }
        return u
    }

    static func observation(_ json: JSON) throws -> Observation {
        var o = Observation()
        if let strings = json["strings"]?.arrayValue {
            o.strings = try strings.map { s in
                guard let v = s.stringValue else { throw InputError(description: "strings must be strings") }
                return v
            }
        }
        if let vectors = json["vectors"]?.arrayValue {
            o.vectors = try vectors.map { v in
                try (v.arrayValue ?? []).map { x in
                    guard let d = x.numberValue else { throw InputError(description: "vectors must be numbers") }
                    return d
                }
            }
        }
        if case .object(let pairs)? = json["emotives"] {
            for (k, v) in pairs {
                guard let d = v.numberValue else { throw InputError(description: "emotives must be numbers") }
                o.emotives[k] = d
            }
        }
        if case .object(let pairs)? = json["metadata"] {
            for (k, v) in pairs { o.metadata[k] = metadataValue(v) }
        }
        return o
    }

    static func metadataValue(_ json: JSON) -> MetadataValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(metadataValue))
        case .object(let p): return .object(p.map { (key: $0.0, value: metadataValue($0.1)) })
        }
    }

    // MARK: engine → JSON

    static func events(_ e: [[String]]) -> JSON { .array(e.map { .array($0.map(JSON.string)) }) }

    static func emotivesJSON(_ e: [String: Double]) -> JSON {
        .object(e.keys.sorted().map { ($0, .double(e[$0]!)) })
    }

    static func predictionJSON(_ p: Prediction) -> JSON {
        .object([
            ("type", .string(p.type)), ("name", .string(p.name)), ("frequency", .int(Int64(p.frequency))),
            ("emotives", emotivesJSON(p.emotives)), ("matches", .array(p.matches.map(JSON.string))),
            ("past", events(p.past)), ("present", events(p.present)), ("missing", events(p.missing)),
            ("extras", events(p.extras)), ("potential", .double(p.potential)), ("evidence", .double(p.evidence)),
            ("similarity", .double(p.similarity)), ("fragmentation", .double(p.fragmentation)),
            ("snr", .double(p.snr)), ("entropy", .double(p.entropy)),
            ("normalized_entropy", .double(p.normalizedEntropy)),
            ("global_normalized_entropy", .double(p.globalNormalizedEntropy)),
            ("confluence", .double(p.confluence)), ("predictive_information", .double(p.predictiveInformation)),
            ("sequence", events(p.sequence)), ("future", events(p.future)), ("confidence", .double(p.confidence)),
            ("itfdf_similarity", .double(p.itfdfSimilarity)), ("pattern_probability", .double(p.patternProbability)),
            ("weighted_strength", .double(p.weightedStrength)),
        ])
    }

    static func futurePotentialJSON(_ f: FuturePotential) -> JSON {
        .object([
            ("future", events(f.future)), ("aggregate_potential", .double(f.aggregatePotential)),
            ("supporting_patterns", .int(Int64(f.supportingPatterns))),
            ("total_weighted_frequency", .double(f.totalWeightedFrequency)),
        ])
    }

    static func patternJSON(_ p: Pattern) -> JSON {
        let emotives: JSON = p.emotives.map { .array($0.map(emotivesJSON)) } ?? .object([])
        return .object([
            ("name", .string(p.publicName)), ("pattern_data", events(p.events)), ("length", .int(Int64(p.length))),
            ("frequency", .int(Int64(p.frequency))), ("emotives", emotives),
            ("metadata", .object(p.metadata.keys.sorted().map { ($0, .array(p.metadata[$0]!.map(JSON.string))) })),
        ])
    }
}
