import Alignment
import ArgumentParser
import Foundation
import Model
import Pipeline
import Tasks

struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Score a chat model's greedy answers to the held-out prompts with the gold judge.",
        discussion: """
        Reads heldout_prompts.jsonl from --data, or with --world chat --fresh-seed N draws a new evaluation set from \
        the tiny-ChatGPT world's generator (held-out values only; use a seed no training data was made with). Prints \
        the mean gold score and exact match per family, and with --samples every answer. The chat world also \
        reports follow-ups asked in a real chat and fresh, false-premise correction, refusal recall and \
        over-refusal, clean stops and reply lengths.
        """
    )

    enum World: String, ExpressibleByArgument, CaseIterable {
        case chat, toy
    }

    @Option(help: "Model directory (any stage).") var model: String
    @Option(help: "The task world whose judge scores the replies.") var world: World = .toy
    @Option(help: "Instruction data directory (its heldout_prompts.jsonl).") var data: String?
    @Option(help: "Draw a fresh evaluation set with this generator seed instead of reading --data (chat world).") var freshSeed: UInt64?
    @Option(help: "Fresh prompts per family with --fresh-seed.") var perFamily = 20
    @Option(help: "Token limit of a reply (default: \(PipelineConfig().evaluationMaxNewTokens), or \(ChatEvaluation.defaultMaxNewTokens) with --world chat, whose tokens are bytes).")
    var maxNewTokens: Int?
    @Flag(help: "Print every prompt, answer and score.") var samples = false
    @Option(help: "Also sample N answers per prompt (temperature 1) and report the gold score of the one --reward ranks first (best-of-N), of a random one, and of the best one.")
    var bestOf = 0
    @Option(help: "Reward model for --best-of.") var reward: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let maxNewTokens, !(1...4096).contains(maxNewTokens) { throw ValidationError("--max-new-tokens must be in 1...4096, got \(maxNewTokens)") }
        guard bestOf >= 0 else { throw ValidationError("--best-of must not be negative, got \(bestOf)") }
        guard bestOf == 0 || reward != nil else { throw ValidationError("--best-of needs --reward") }
        guard (data == nil) != (freshSeed == nil) else { throw ValidationError("give exactly one of --data and --fresh-seed") }
        guard freshSeed == nil || world == .chat else { throw ValidationError("--fresh-seed draws from the chat world: add --world chat") }
        guard (1...1000).contains(perFamily) else { throw ValidationError("--per-family must be in 1...1000, got \(perFamily)") }
    }

    /// The evaluation prompts: read from --data, or freshly drawn.
    func prompts() throws -> [PromptRecord] {
        if let freshSeed {
            var config = ChatDataConfig()
            config.seed = freshSeed
            var generator = ChatWorldData(config: config)
            return generator.heldOutPrompts(perFamily: perFamily)
        }
        return try DataDirectory(data ?? "").read(PromptRecord.self, InstructFiles.heldOutPrompts)
    }

    func printChatReport(_ report: ChatEvaluationReport) {
        if samples {
            for sample in report.samples {
                let context = sample.context.map { "\($0.user) / \($0.assistant) / " }.joined()
                Console.out("\(sample.family)\t\(String(format: "%.1f", sample.score))\t\(context)\(sample.prompt)\t\(sample.reply)\n")
            }
        }
        Console.out("family          prompts  exact  score  clean stop  refusals  reply chars\n")
        for row in report.families {
            Console.out(row.family.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + String(format: " %7d  %5.2f  %5.2f  %10.2f  %8.2f  %11.1f\n", row.prompts, row.exact, row.meanScore,
                               row.cleanStop, row.refusals, row.meanReplyCharacters))
        }
        Console.out(String(format: "follow-ups: %.2f in a chat, %.2f asked fresh | false premises corrected %.2f | refusal recall %.2f, over-refusal %.2f | clean stop %.3f\n",
                           report.followUpInChat, report.followUpFresh, report.falsePremiseCorrection, report.refusalRecall,
                           report.overRefusal, report.cleanStop))
    }

    func run() throws {
        try threadOptions.apply()
        let (gpt, tokenizer) = try StageDirectory.load(model)
        let maxNewTokens = self.maxNewTokens ?? (world == .chat ? ChatEvaluation.defaultMaxNewTokens : PipelineConfig().evaluationMaxNewTokens)
        let prompts = try prompts()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        if world == .chat {
            printChatReport(try ChatEvaluation.evaluate(model: gpt, encoder: encoder, prompts: prompts, maxNewTokens: maxNewTokens))
            return try bestOfN(gpt: gpt, encoder: encoder, prompts: prompts, world: ChatWorld(), maxNewTokens: maxNewTokens)
        }
        let world = ToyWorld()
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
        try bestOfN(gpt: gpt, encoder: encoder, prompts: prompts, world: world, maxNewTokens: maxNewTokens)
    }

    func bestOfN(gpt: GPT, encoder: ChatEncoder, prompts: [PromptRecord], world: any TaskWorld, maxNewTokens: Int) throws {
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
