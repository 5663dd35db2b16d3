import ArgumentParser
import GRPCH2
import KatoClient
import ProtoJSON
import ProtoWire
import StrictJSON

/// Runs a subcommand body and turns its errors into a message on stderr and an exit code.
enum CommandRunner {
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch let failure as CLIFailure {
            Console.err(failure.message + "\n")
            throw ExitCode(failure.exitCode)
        } catch let failure as RPCFailure {
            Console.err(failure.report)
            throw ExitCode(failure.exitCode)
        } catch let error as RPCError {
            let failure = RPCFailure(error: error)
            Console.err(failure.report)
            throw ExitCode(failure.exitCode)
        } catch let error as KatoClientError {
            var report = "ERROR:\n  Code: \(RPCFailure.goName(error.code))\n  Message: \(error.message)\n"
            if !error.reason.isEmpty { report += "  Reason: \(error.reason)\n" }
            for v in error.fieldViolations { report += "  Field: \(v.field): \(v.description)\n" }
            if !error.traceID.isEmpty { report += "  Trace: \(error.traceID)\n" }
            Console.err(report)
            throw ExitCode(ExitStatus.rpcOffset + Int32(error.code.rawValue))
        } catch let error as CodecError {
            Console.err("Error: \(error.message)\n")
            throw ExitCode(ExitStatus.usage)
        } catch let error as JSONSyntaxError {
            Console.err("Error: \(error)\n")
            throw ExitCode(ExitStatus.usage)
        } catch let error as TextFormatError {
            Console.err("Error: \(error)\n")
            throw ExitCode(ExitStatus.usage)
        } catch let error as SymbolNotFound {
            Console.err("Error: \(error)\n")
            throw ExitCode(ExitStatus.failure)
        } catch {
            Console.err("Error: \(error)\n")
            throw ExitCode(ExitStatus.failure)
        }
    }
}
