import Alignment
import ArgumentParser
import Foundation
import Pipeline
import Tasks

struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Score a chat model's greedy answers to the held-out prompts with the gold judge.",
        discussion: "Reads heldout_prompts.jsonl from --data; prints the mean gold score and exact match per family, and with --samples every answer."
    )

    @Option(help: "Model directory (any stage).") var model: String
    @Option(help: "Instruction data directory.") var data: String
    @Option(help: "Token limit of a reply.") var maxNewTokens = PipelineConfig().evaluationMaxNewTokens
    @Flag(help: "Print every prompt, answer and score.") var samples = false
    @Option(help: "Also sample N answers per prompt (temperature 1) and report the gold score of the one --reward ranks first (best-of-N), of a random one, and of the best one.")
    var bestOf = 0
    @Option(help: "Reward model for --best-of.") var reward: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard bestOf >= 0 else { throw ValidationError("--best-of must not be negative, got \(bestOf)") }
        guard bestOf == 0 || reward != nil else { throw ValidationError("--best-of needs --reward") }
    }

    func run() throws {
        try threadOptions.apply()
        let (gpt, tokenizer) = try StageDirectory.load(model)
        let world = ToyWorld()
        let prompts = try DataDirectory(data).read(PromptRecord.self, InstructFiles.heldOutPrompts)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let report = try GoldEvaluation.evaluate(model: gpt, encoder: encoder, prompts: prompts, world: world, maxNewTokens: maxNewTokens)
        if samples {
            for sample in report.samples {
                Console.out("\(sample.family)\t\(String(format: "%.1f", sample.score))\t\(sample.prompt)\t\(sample.response)\n")
            }
        }
        Console.out(String(format: "gold score %.3f over %d held-out prompts\n", report.meanScore, prompts.count))
        for family in world.families {
            Console.out(String(format: "  exact match %-8@ %.2f\n", family, report.exactMatch[family] ?? 0))
        }
        guard bestOf > 0, let reward else { return }
        let (rewardModel, _) = try RewardModel.load(reward)
        let result = try BestOfN.evaluate(model: gpt, reward: rewardModel, labeler: world, encoder: encoder, prompts: prompts, n: bestOf,
                                          maxNewTokens: maxNewTokens, seed: 1)
        Console.out(String(format: "best-of-%d: gold of the RM's pick %.3f | of a random sample %.3f | of the best sample %.3f\n",
                           bestOf, result.rewardPick, result.random, result.oracle))
        for family in world.families {
            let row = result.byFamily[family] ?? [0, 0, 0]
            Console.out(String(format: "  %-8@ RM pick %.3f  random %.3f  best %.3f\n", family, row[0], row[1], row[2]))
        }
    }
}
