namespace Nabla.Autograd;

/// <summary>
/// Whether ops record the autograd graph on this thread. Use <see cref="NoGrad"/> around
/// inference and parameter updates: nothing is recorded and no backward closures are kept.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int disabledDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope.</summary>
    public static bool IsEnabled => disabledDepth == 0;

    /// <summary>Disables recording until the returned scope is disposed (scopes nest).</summary>
    public static NoGradScope NoGrad()
    {
        disabledDepth++;
        return new NoGradScope();
    }

    /// <summary>Ends a <see cref="NoGrad"/> scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => disabledDepth--;
    }
}

/// <summary>Records op results on the tape and replays them in reverse for backward.</summary>
internal static class Graph
{
    /// <summary>True when an op on these inputs must record its backward rule.</summary>
    public static bool NeedsGrad(Tensor a) => GradMode.IsEnabled && a.RequiresGrad;

    /// <inheritdoc cref="NeedsGrad(Tensor)"/>
    public static bool NeedsGrad(Tensor a, Tensor b) => GradMode.IsEnabled && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>
    /// Marks <paramref name="result"/> as produced by <paramref name="op"/> from <paramref name="parents"/>;
    /// <paramref name="backward"/> receives the result's gradient and must add into the parents'
    /// <see cref="Tensor.GradBuffer"/> (only those with RequiresGrad).
    /// </summary>
    public static Tensor Record(Tensor result, string op, Tensor[] parents, Action<Tensor> backward)
    {
        result.RequiresGrad = true;
        result.Parents = parents;
        result.BackwardFn = backward;
        result.OpName = op;
        return result;
    }

    [ThreadStatic] private static List<Tensor>? orderCache;
    [ThreadStatic] private static HashSet<Tensor>? visitedCache;
    [ThreadStatic] private static Stack<(Tensor node, bool expanded)>? stackCache;

    public static void Backward(Tensor root, Tensor gradOutput, bool retainGraph = false)
    {
        // Reverse topological order by iterative DFS: a node runs after everything that uses it.
        // The work lists are reused per thread so that a training step does not allocate them.
        var order = orderCache ??= new List<Tensor>();
        var visited = visitedCache ??= new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = stackCache ??= new Stack<(Tensor node, bool expanded)>();
        order.Clear();
        visited.Clear();
        stack.Clear();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (node, expanded) = stack.Pop();
            if (expanded) { order.Add(node); continue; }
            if (!visited.Add(node)) continue;
            if (node.GraphFreed)
            {
                order.Clear();
                visited.Clear();
                stack.Clear();
                throw new InvalidOperationException(
                    $"Backward: trying to backward through the graph a second time (the {node.OpName} node was freed by an earlier Backward). " +
                    "Pass retainGraph: true to the first Backward if you need to backward through it again, or recompute the forward pass.");
            }
            stack.Push((node, true));
            if (node.Parents is null) continue;
            foreach (var p in node.Parents)
                if (p.RequiresGrad && !visited.Contains(p)) stack.Push((p, false));
        }

        // Leaves accumulate across calls; intermediate gradients start afresh each pass (and stay
        // readable afterwards, which the notes' worked examples rely on).
        foreach (var node in order)
            if (!node.IsLeaf) node.Grad = null;
        var seed = root.GradBuffer();
        Ops.AddInPlace(seed.Data, gradOutput.Data);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            // A leaf comes after every node that uses it: its gradient for this pass is complete.
            if (node.BackwardFn is null && node.Grad is not null) node.PostAccumulateGradHook?.Invoke(node);
            if (node.BackwardFn is null || node.Grad is null) continue;
            node.BackwardFn(node.Grad);
        }
        if (!retainGraph)
            foreach (var node in order)
                if (!node.IsLeaf)
                {
                    // Free the graph as PyTorch does: closures hold the saved inputs; the node keeps its
                    // op name (so a second pass can say what was freed) and its gradient (the notes read it).
                    node.BackwardFn = null;
                    node.Parents = null;
                }
        order.Clear(); // drop references to the graph
        visited.Clear();
    }
}
