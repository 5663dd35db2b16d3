import KatoFuzz

/// libFuzzer's entry point for `FuzzTarget.http1` (built by `make fuzz`; docs/FUZZING.md).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.http1.libFuzzerInput(data, size)
}
