using Nabla.Nn;

namespace Nabla.Serialization;

/// <summary>What <see cref="Transfer.LoadPretrained(Module, string, string[])"/> copied and what it left as initialised.</summary>
/// <param name="Loaded">Names of the parameters and buffers whose values came from the file.</param>
/// <param name="Skipped">Names kept as initialised, each with why (shape differs, not in the file, or excluded).</param>
/// <param name="Unused">Tensors of the file that no parameter of the model took.</param>
public sealed record TransferReport(IReadOnlyList<string> Loaded, IReadOnlyList<(string Name, string Reason)> Skipped, IReadOnlyList<string> Unused)
{
    /// <summary>One line: "loaded 4 tensors; kept 2 as initialised (2.weight: shape [5, 32] in the model, [10, 32] in the file; …)".</summary>
    public override string ToString() =>
        $"loaded {Loaded.Count} tensors" + (Skipped.Count == 0 ? "" : $"; kept {Skipped.Count} as initialised ({string.Join("; ", Skipped.Select(s => $"{s.Name}: {s.Reason}"))})");
}

/// <summary>
/// Transfer learning (the notes' pre-training and fine-tuning): start a model from the weights of another one trained
/// on a related task, replace what does not fit (the head), freeze what should stay.
/// <code>
/// var model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 5)); // a new 5-class head
/// Transfer.LoadPretrained(model, "fashion.safetensors");  // body from the file; the head's shape differs: kept
/// model.Freeze("0");                                       // train only the head
/// </code>
/// </summary>
public static class Transfer
{
    /// <summary>
    /// Copies into <paramref name="model"/> every tensor of the safetensors file <paramref name="path"/> whose name and
    /// shape match a parameter or buffer of the model (PyTorch's <c>load_state_dict(strict=False)</c> plus a shape check),
    /// except names under <paramref name="exclude"/> prefixes. Files written by <see cref="ModelFile.Save"/> or by PyTorch
    /// both work; optimiser state in the file is ignored. Nothing matching at all is an error (a wrong file).
    /// </summary>
    public static TransferReport LoadPretrained(Module model, string path, params string[] exclude)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (tensors, _) = SafeTensors.Load(path);
        var state = tensors.Where(kv => !kv.Key.StartsWith("optimizer.", StringComparison.Ordinal)).ToDictionary();
        var report = CopyMatching(model, state, exclude);
        if (report.Loaded.Count == 0)
            throw new ArgumentException(
                $"{path}: no tensor of the file matches a parameter of the model by name and shape (the file has {string.Join(", ", state.Keys.Take(6))}{(state.Count > 6 ? ", …" : "")}; " +
                $"the model has {string.Join(", ", model.StateDict().Keys.Take(6))}).");
        return report;
    }

    /// <summary>Copies the entries of <paramref name="state"/> that match <paramref name="model"/>'s by name and shape; see <see cref="LoadPretrained"/>.</summary>
    public static TransferReport CopyMatching(Module model, IReadOnlyDictionary<string, Tensor> state, params string[] exclude)
    {
        var loaded = new List<string>();
        var skipped = new List<(string, string)>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, target) in model.StateDict())
        {
            if (exclude.Any(e => Module.UnderPrefix(name, e))) { skipped.Add((name, "excluded")); continue; }
            if (!state.TryGetValue(name, out var source)) { skipped.Add((name, "not in the file")); continue; }
            used.Add(name);
            if (source.Shape != target.Shape)
            {
                skipped.Add((name, $"shape {target.Shape} in the model, {source.Shape} in the file"));
                continue;
            }
            source.Data.CopyTo(target.Data);
            loaded.Add(name);
        }
        return new TransferReport(loaded, skipped, state.Keys.Where(k => !used.Contains(k)).ToList());
    }
}
