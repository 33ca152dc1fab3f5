using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>Creates optimisers by name, for the command line and configuration files.</summary>
public static class Optimizers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "accelerated"];

    /// <summary>A reasonable learning rate for <paramref name="name"/> when none is given (PyTorch's defaults where it has one).</summary>
    public static float DefaultLearningRate(string name) => Normalize(name) switch
    {
        "sgd" or "momentum" or "nesterov" or "accelerated" => 0.01f,
        "adagrad" or "rmsprop" => 0.01f,
        "adam" or "adamw" => 1e-3f,
        _ => throw Unknown(name),
    };

    /// <summary>
    /// Creates the optimiser called <paramref name="name"/> (case-insensitive, one of <see cref="Names"/>):
    /// <c>sgd</c> (plain), <c>momentum</c> (SGD with momentum μ), <c>nesterov</c> (SGD with Nesterov
    /// momentum μ), <c>adagrad</c>, <c>rmsprop</c> (with momentum μ only if given), <c>adam</c>,
    /// <c>adamw</c>, <c>accelerated</c> (the notes' <see cref="NesterovAccelerated"/>; its training
    /// loop must call <see cref="Optimizer.BeforeForward"/>).
    /// </summary>
    /// <param name="name">The optimiser's name.</param>
    /// <param name="parameters">The parameters to optimise.</param>
    /// <param name="learningRate">The learning rate (step size).</param>
    /// <param name="momentum">μ for <c>momentum</c> and <c>nesterov</c> (default 0.9) and for <c>rmsprop</c> (default 0).</param>
    /// <param name="weightDecay">λ (default 0; for <c>adamw</c> 0.01). Not supported by <c>accelerated</c>.</param>
    public static Optimizer Create(string name, IEnumerable<Parameter> parameters, float learningRate, float? momentum = null, float? weightDecay = null)
    {
        string n = Normalize(name);
        float wd = weightDecay ?? 0f;
        return n switch
        {
            "sgd" => new Sgd(parameters, learningRate, momentum ?? 0f, nesterov: false, weightDecay: wd),
            "momentum" => new Sgd(parameters, learningRate, momentum ?? 0.9f, nesterov: false, weightDecay: wd),
            "nesterov" => new Sgd(parameters, learningRate, momentum ?? 0.9f, nesterov: true, weightDecay: wd),
            "adagrad" => new Adagrad(parameters, learningRate, weightDecay: wd),
            "rmsprop" => new RmsProp(parameters, learningRate, weightDecay: wd, momentum: momentum ?? 0f),
            "adam" => new Adam(parameters, learningRate, weightDecay: wd),
            "adamw" => new AdamW(parameters, learningRate, weightDecay: weightDecay ?? 1e-2f),
            "accelerated" => wd == 0f && momentum is null
                ? new NesterovAccelerated(parameters, learningRate)
                : throw new ArgumentException("Optimizer 'accelerated' takes only a learning rate (its momentum is fixed by the step count; no weight decay)."),
            _ => throw Unknown(name),
        };
    }

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();

    private static ArgumentException Unknown(string name) =>
        new($"Unknown optimizer '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));
}
