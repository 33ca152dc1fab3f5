using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Training;

/// <summary>Keras-style <c>model.Fit / Evaluate / Predict</c> on any module, forwarding to <see cref="Trainer"/>.</summary>
public static class ModuleTrainingExtensions
{
    /// <summary>Trains the model; see <see cref="Trainer.Fit"/>.</summary>
    public static History Fit(this Module model, Dataset train, Loss loss, Optimizer optimizer, FitOptions? options = null) =>
        Trainer.Fit(model, train, loss, optimizer, options);

    /// <summary>Loss, accuracy and confusion matrix; see <see cref="Trainer.Evaluate"/>.</summary>
    public static EvaluationResult Evaluate(this Module model, Dataset data, Loss loss, int batchSize = 256) =>
        Trainer.Evaluate(model, data, loss, batchSize);

    /// <summary>Outputs in evaluation mode without gradients; see <see cref="Trainer.Predict"/>.</summary>
    public static Tensor Predict(this Module model, Tensor inputs, int batchSize = 1024) =>
        Trainer.Predict(model, inputs, batchSize);
}
