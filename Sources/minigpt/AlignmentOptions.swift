import Alignment
import ArgumentParser
import Pipeline

/// `--preset`, shared by the alignment commands: which of the pipeline's named settings a single stage starts
/// from (its other flags override them), so `minigpt sft` by hand is the pipeline's SFT.
struct PresetOption: ParsableArguments {
    @Option(help: ArgumentHelp("The pipeline's settings to start from: \(PipelineConfig.presetNames.joined(separator: " or ")).",
                               valueName: "name"))
    var preset = "full"

    var config: PipelineConfig { PipelineConfig.preset(named: preset) ?? .full }

    func validate() throws {
        guard PipelineConfig.preset(named: preset) != nil else {
            throw ValidationError("--preset must be \(PipelineConfig.presetNames.joined(separator: " or ")), got \(preset)")
        }
    }
}

/// Runs a library check and, if it fails, says it with this command's flag names instead of the library's names
/// for the same values (`flags`: library name -> flag).
func validating(_ flags: [(String, String)], _ check: () throws -> Void) throws {
    do {
        try check()
    } catch let error as AlignmentError {
        var message = "\(error)"
        for (name, flag) in flags { message = message.replacingOccurrences(of: name, with: flag) }
        throw ValidationError(message)
    }
}
