import Core
import Model
import Training

/// Everything one stage trains (a GPT and any scalar head), each buffer with its own AdamW moments and a
/// learning-rate multiplier, stepped together: one global-norm clip over all of them, then one AdamW update each.
final class TrainedTensors {
    struct Group {
        var parameters: FloatBuffer
        var gradients: FloatBuffer
        var optimizer: AdamW
        /// The group's learning rate over the stage's (a head that starts at zero learns faster).
        var rateScale: Float
    }

    private(set) var groups: [Group]
    private var steps = 0

    /// `model`'s parameters, weight-decayed by its layout's mask.
    init(model: GPT, settings: AdamWSettings) {
        groups = [Group(parameters: model.parameters, gradients: model.gradients,
                        optimizer: AdamW(layout: model.layout, settings: settings), rateScale: 1)]
    }

    /// Adds a head's weights (never decayed) trained at `rateScale` x the stage's learning rate.
    func addHead(parameters: FloatBuffer, gradients: FloatBuffer, settings: AdamWSettings, rateScale: Float) {
        var undecayed = settings
        undecayed.weightDecay = 0
        groups.append(Group(parameters: parameters, gradients: gradients,
                            optimizer: AdamW(undecayedCount: parameters.count, settings: undecayed), rateScale: rateScale))
    }

    var parameters: [FloatBuffer] { groups.map(\.parameters) }

    func zeroGradients() {
        for group in groups { group.gradients.fill(0) }
    }

    /// Clips the gradients of every group as one vector (0 = no clip), then updates every group. Returns the
    /// norm before clipping.
    @discardableResult
    func step(learningRate: Float, clip: Float) -> Float {
        let norm = AdamW.clipGradients(groups.map(\.gradients), maxNorm: clip)
        steps += 1
        for group in groups {
            group.optimizer.update(parameters: group.parameters, gradients: group.gradients,
                                   learningRate: learningRate * group.rateScale, step: steps)
        }
        return norm
    }
}
