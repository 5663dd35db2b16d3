import KatoFuzz

/// libFuzzer's entry point for `FuzzTarget.connection` (built by `make fuzz`; docs/FUZZING.md).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.connection.libFuzzerInput(data, size)
}
