import Core
import Foundation
import Model

/// What a training step does when its loss or gradient is NaN or infinite. Either way no update is made
/// and the checkpoint on disk is left alone.
public enum NonFinitePolicy: String, CaseIterable, Codable, Sendable {
    /// Throw `TrainingError.nonFinite` naming the step and the tensor.
    case stop
    /// Count the step as done without an update and go on with the next batch.
    case skip

    /// `.skip` still stops after this many skipped steps in a row: the run is not recovering.
    public static let maxConsecutiveSkips = 20
}

/// How `Trainer.run` ended.
public enum RunOutcome: Equatable, Sendable {
    /// Reached the last step (or `stopAt`).
    case finished(step: Int)
    /// `shouldStop` asked to stop; a checkpoint of `step` was saved.
    case interrupted(step: Int)
}

extension Trainer {
    /// Handles a non-finite loss (`gradientNorm` nil) or gradient norm found in step `step + 1`.
    func nonFiniteStep(loss: Float, gradientNorm: Float?) throws -> (loss: Float, learningRate: Float, gradientNorm: Float) {
        let number = step + 1
        var what: String
        if let gradientNorm {
            if let bad = Trainer.firstNonFinite(model.gradients, tensors: model.parameterTensors) {
                what = "the gradient of \(bad.tensor) holds \(bad.value) at index \(bad.index) (gradient norm \(gradientNorm))"
            } else {
                what = "the gradient norm is \(gradientNorm) (every gradient is finite; their squares overflow)"
            }
        } else {
            what = "the training loss is \(loss)"
        }
        if let bad = Trainer.firstNonFinite(model.parameters, tensors: model.parameterTensors) {
            what += "; parameter \(bad.tensor) holds \(bad.value) at index \(bad.index)"
        }
        let kept = savedStep.map { "the last checkpoint (step \($0)) was kept" } ?? "no checkpoint has been written"
        switch nonFinitePolicy {
        case .stop:
            throw TrainingError.nonFinite("step \(number): \(what); no update was made and \(kept)")
        case .skip:
            consecutiveSkips += 1
            guard consecutiveSkips <= NonFinitePolicy.maxConsecutiveSkips else {
                throw TrainingError.nonFinite("step \(number): \(what); \(consecutiveSkips) steps in a row were non-finite, stopping; \(kept)")
            }
            let rate = LearningRateSchedule(config: config).rate(at: step)
            step += 1
            lastSkipReason = what
            return (loss, rate, gradientNorm ?? .nan)
        }
    }

    /// The first tensor (in layout order) of a parameter-shaped buffer that holds a NaN or infinity.
    public static func firstNonFinite(_ buffer: FloatBuffer, tensors: [ParameterLayout.Tensor]) -> (tensor: String, index: Int, value: Float)? {
        for tensor in tensors {
            let values = buffer.pointer + tensor.offset
            for index in 0..<tensor.count where !values[index].isFinite {
                return (tensor.name, index, values[index])
            }
        }
        return nil
    }

    /// Keeps only the metrics lines of steps up to `step` (a killed run may have logged steps after its
    /// last checkpoint, and a half-written last line); they are logged again as the run repeats them.
    func truncateMetrics(after step: Int) throws {
        guard processes.isRoot else { return }
        let path = runDirectory + "/" + Trainer.metricsFile
        guard FileManager.default.fileExists(atPath: path) else { return }
        let data = try AtomicFile.read(path)
        var kept = Data()
        for line in data.split(separator: 0x0A) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let lineStep = object["step"] as? Int, lineStep <= step else { continue }
            kept.append(contentsOf: line)
            kept.append(0x0A)
        }
        if kept != data { try AtomicFile.write(kept, to: path) }
    }
}
