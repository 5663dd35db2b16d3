enum EngineBenchmark {
    static func main(_ args: [String]) -> Int32 {
        print("benchmark not implemented yet")
        return 2
    }
}
