using System.Collections;
using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Parameters in groups with their own learning rates (PyTorch's parameter groups), passed to any optimiser in place of
/// a parameter list: a smaller rate for a pre-trained body, the full rate for a new head.
/// <code>
/// var groups = new ParameterGroups { { body.Parameters(), 0.001f }, head.Parameters() };
/// var optimizer = new Sgd(groups, learningRate: 0.01f, momentum: 0.9f);
/// </code>
/// A group without a rate uses the optimiser's. Each group keeps its ratio to the optimiser's
/// <see cref="Optimizer.LearningRate"/>, so a schedule scales all groups alike.
/// </summary>
public sealed class ParameterGroups : IEnumerable<Parameter>
{
    private readonly List<(IReadOnlyList<Parameter> Parameters, float? LearningRate)> groups = new();

    /// <summary>Adds a group; <paramref name="learningRate"/> null takes the optimiser's rate.</summary>
    public void Add(IEnumerable<Parameter> parameters, float? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (learningRate is float lr && !(lr > 0 && float.IsFinite(lr)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"ParameterGroups: learning rate {lr} of group {groups.Count} must be positive and finite.");
        groups.Add((parameters.ToList(), learningRate));
    }

    /// <summary>The groups, in order.</summary>
    public IReadOnlyList<(IReadOnlyList<Parameter> Parameters, float? LearningRate)> Groups => groups;

    /// <summary>All parameters of all groups, in order.</summary>
    public IEnumerator<Parameter> GetEnumerator() => groups.SelectMany(g => g.Parameters).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Per-parameter ratios to <paramref name="baseRate"/> when <paramref name="source"/> is a <see cref="ParameterGroups"/>, else null.</summary>
    internal static float[]? ScalesFor(IEnumerable<Parameter> source, IReadOnlyList<Parameter> flat, float baseRate)
    {
        if (source is not ParameterGroups pg) return null;
        var scales = new float[flat.Count];
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        int i = 0;
        for (int g = 0; g < pg.groups.Count; g++)
            foreach (var p in pg.groups[g].Parameters)
            {
                if (!seen.Add(p)) throw new ArgumentException($"ParameterGroups: a parameter of shape {p.Shape} appears in more than one group (group {g}).");
                scales[i++] = (pg.groups[g].LearningRate ?? baseRate) / baseRate;
            }
        return scales;
    }
}
