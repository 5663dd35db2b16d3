// proto3 JSON codec benchmark (docs/BENCHMARKS.md, "proto3 JSON codec"): what a Connect /
// gRPC-Web JSON call adds over the binary path, per message, with the binary path (libprotobuf-c
// through KatoProto, what the gRPC handlers use today) measured in the same run as reference.
//
//   kato-codec-bench [--iterations N] [--rounds R] [--fixtures DIR]
//
// Messages: Tests/ProtoJSONTests/Fixtures (written by Google's protobuf runtime): an
// ObserveRequest (strings, a vector, emotives, Struct metadata) and a GetPredictionsResponse
// with 100 predictions. The codec is built from KatoDescriptors.descriptorSet, the pool the
// server would index once at start-up.
import Foundation
import KatoProto
import ProtoJSON
import ProtobufCBridge

var iterations = 2000
var rounds = 5
var only: Int?
var fixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../Tests/ProtoJSONTests/Fixtures").standardized
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--iterations": iterations = Int(args.next() ?? "") ?? iterations
    case "--rounds": rounds = Int(args.next() ?? "") ?? rounds
    case "--fixtures": fixtureDir = URL(fileURLWithPath: args.next() ?? ".")
    // One case only (its row number, from 1): for callgrind, which then counts that case alone.
    case "--case": only = Int(args.next() ?? "")
    default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
    }
}

@MainActor func load(_ name: String) -> (binary: [UInt8], json: [UInt8]) {
    let bin = try! Data(contentsOf: fixtureDir.appendingPathComponent(name + ".bin"))
    let text = try! String(contentsOf: fixtureDir.appendingPathComponent(name + ".json"), encoding: .utf8)
    let body = text[text.index(after: text.firstIndex(of: "\n")!)...]
    return ([UInt8](bin), Array(body.utf8))
}

let codec = try! ProtoJSONCodec(fileDescriptorSet: KatoDescriptors.descriptorSet)
let observe = load("observe_request")
let predictions = load("get_predictions_response")
let observeType = "kato.v2.ObserveRequest", predictionsType = "kato.v2.GetPredictionsResponse"
// The server's JSON responses are what the codec prints, not Python's spacing: use ours.
let predictionsJSON = try! codec.json(fromBinary: predictions.binary, messageType: predictionsType)
let observeJSON = try! codec.json(fromBinary: observe.binary, messageType: observeType)

struct Case {
    let name: String
    let bytesIn: Int
    let run: @MainActor () -> Int
}

@inline(never) func blackHole(_ x: Int) -> Int { x }

let cases: [Case] = [
    Case(name: "ObserveRequest JSON → binary (request decode)", bytesIn: observeJSON.count) {
        try! codec.binary(fromJSON: observeJSON, messageType: observeType).count
    },
    Case(name: "ObserveRequest binary → JSON", bytesIn: observe.binary.count) {
        try! codec.json(fromBinary: observe.binary, messageType: observeType).count
    },
    Case(name: "GetPredictionsResponse ×100 binary → JSON (response encode)", bytesIn: predictions.binary.count) {
        try! codec.json(fromBinary: predictions.binary, messageType: predictionsType).count
    },
    Case(name: "GetPredictionsResponse ×100 JSON → binary", bytesIn: predictionsJSON.count) {
        try! codec.binary(fromJSON: predictionsJSON, messageType: predictionsType).count
    },
    Case(name: "reference: ObserveRequest protobuf-c decode", bytesIn: observe.binary.count) {
        try! Kato_V2_ObserveRequest(serializedBytes: observe.binary).strings.count
    },
    Case(name: "reference: GetPredictionsResponse ×100 protobuf-c decode + encode", bytesIn: predictions.binary.count) {
        try! Kato_V2_GetPredictionsResponse(serializedBytes: predictions.binary).serializedBytes().count
    },
]

// Rounds interleave the cases so that machine noise spreads over all of them; the median round counts.
var samples = Array(repeating: [Double](), count: cases.count)
for _ in 0..<rounds {
    for (i, c) in cases.enumerated() where only == nil || only == i + 1 {
        var sink = 0
        for _ in 0..<max(1, iterations / 10) { sink &+= c.run() }
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= c.run() }
        let elapsed = ContinuousClock.now - start
        _ = blackHole(sink)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        samples[i].append(seconds / Double(iterations) * 1e6)
    }
}
print("| operation | input bytes | µs/op (median of \(rounds)) | min | max |")
print("|---|---:|---:|---:|---:|")
for (i, c) in cases.enumerated() where !samples[i].isEmpty {
    let s = samples[i].sorted()
    print("| \(c.name) | \(c.bytesIn) | \(String(format: "%.2f", s[s.count / 2])) | \(String(format: "%.2f", s.first!)) | \(String(format: "%.2f", s.last!)) |")
}
