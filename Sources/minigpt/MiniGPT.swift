import ArgumentParser

@main
struct MiniGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minigpt",
        abstract: "Train, run and align small GPT models on the CPU.",
        subcommands: [
            TrainCommand.self,
            GenerateCommand.self,
            ChatCommand.self,
            EvalCommand.self,
            TokenizerCommand.self,
            EstimateCommand.self,
            BenchCommand.self,
        ]
    )
}
