import Foundation

// kato-conformance DIR…        run every *.jsonl golden case in the directories
// kato-conformance --bench N   run the engine benchmark workload with N patterns
let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--bench" {  // see EngineBenchmark
    exit(EngineBenchmark.main(Array(arguments.dropFirst())))
}
if arguments.isEmpty || arguments.contains("--help") {
    print("usage: kato-conformance DIR...   |   kato-conformance --bench N [--dump-kb]")
    exit(arguments.isEmpty ? 2 : 0)
}
let summary = ConformanceRunner.run(directories: arguments)
for failure in summary.failures {
    print("FAIL \(failure.id): \(failure.message)")
}
print("\(summary.passed) passed, \(summary.failed) failed")
exit(summary.failed == 0 ? 0 : 1)
