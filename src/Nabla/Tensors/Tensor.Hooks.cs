namespace Nabla;

public partial class Tensor
{
    internal Action<Tensor>? PostAccumulateGradHook;

    /// <summary>
    /// Calls <paramref name="hook"/> during <c>Backward</c> once this leaf's gradient for that pass is
    /// complete (every use of the tensor has added its part), as PyTorch's
    /// <c>register_post_accumulate_grad_hook</c>: data-parallel training starts reducing a bucket of
    /// gradients while the backward pass is still computing the rest. Dispose the result to remove it.
    /// </summary>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf) throw new InvalidOperationException($"RegisterPostAccumulateGradHook: {Name ?? "the tensor"} is computed by {OpName}; hooks go on leaves (parameters).");
        PostAccumulateGradHook += hook;
        return new HookHandle(this, hook);
    }

    private sealed class HookHandle(Tensor tensor, Action<Tensor> hook) : IDisposable
    {
        private bool removed;

        public void Dispose()
        {
            if (removed) return;
            removed = true;
            tensor.PostAccumulateGradHook -= hook;
        }
    }
}
