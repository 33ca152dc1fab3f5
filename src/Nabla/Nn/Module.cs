using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;

namespace Nabla.Nn;

/// <summary>A tensor that a module learns: it always requires gradients.</summary>
public sealed class Parameter : Tensor
{
    /// <summary>Wraps <paramref name="value"/>'s storage as a learnable parameter.</summary>
    public Parameter(Tensor value) : base(value.data, value.Shape) => RequiresGrad = true;

    /// <summary>A zero-filled parameter of <paramref name="shape"/>.</summary>
    public Parameter(params int[] shape) : base(AllocationBudget.NewArray(new Shape(shape)), new Shape(shape)) => RequiresGrad = true;
}

/// <summary>
/// The base of every layer and model, as in PyTorch: subclasses hold <see cref="Parameter"/>s,
/// buffers and child modules, and implement <see cref="Forward"/>. Library layers declare them
/// explicitly with <see cref="RegisterParameter"/>, <see cref="RegisterModule{T}"/> and
/// <see cref="RegisterBuffer"/> under PyTorch's names (trim-safe, names exact); fields of a user's
/// own subclass holding parameters or modules are also found by reflection and named after the
/// field, lower-camel-case, with dots for nesting: <c>fc1.weight</c>.
/// </summary>
/// <remarks>
/// A layer with more than one input or output (recurrent states, skip connections, detection heads)
/// keeps <see cref="Forward"/> as its one-tensor path (its main output, which
/// <see cref="Sequential"/> uses) and adds typed overloads for the rest.
/// </remarks>
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields
    | DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.NonPublicProperties)]
public abstract partial class Module
{
    private List<(string Name, Parameter Parameter)>? registeredParameters;
    private List<(string Name, Module Module)>? registeredModules;
    private List<(string Name, Tensor Buffer)>? registeredBuffers;

    /// <summary>
    /// Declares <paramref name="parameter"/> as this module's own, under <paramref name="name"/>
    /// (PyTorch's <c>register_parameter</c>), and returns it.
    /// </summary>
    protected Parameter RegisterParameter(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckNewName(name);
        (registeredParameters ??= new()).Add((name, parameter));
        return parameter;
    }

    /// <summary>Declares <paramref name="module"/> as a child under <paramref name="name"/> (PyTorch's <c>register_module</c>) and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckNewName(name);
        (registeredModules ??= new()).Add((name, module));
        return module;
    }

    /// <summary>
    /// Declares <paramref name="buffer"/> as state that is saved and loaded with the parameters but
    /// not trained (PyTorch's <c>register_buffer</c>, e.g. batch norm's <c>running_mean</c>), and returns it.
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckNewName(name);
        (registeredBuffers ??= new()).Add((name, buffer));
        return buffer;
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid member name (non-empty, no dots).");
        bool taken = (registeredParameters?.Any(p => p.Name == name) ?? false)
                  || (registeredModules?.Any(m => m.Name == name) ?? false)
                  || (registeredBuffers?.Any(b => b.Name == name) ?? false);
        if (taken) throw new ArgumentException($"{GetType().Name}: a member named '{name}' is already registered.");
    }

    /// <summary>Whether the module is in training mode (dropout active) rather than evaluation mode.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Computes the module's output.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Shorthand for <see cref="Forward"/>.</summary>
    public Tensor Call(Tensor input) => Forward(input);

    /// <summary>Sets training mode on this module and all its children.</summary>
    public Module Train(bool mode = true)
    {
        IsTraining = mode;
        foreach (var (_, child) in NamedChildren()) child.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode (dropout off) on this module and all its children.</summary>
    public Module Eval() => Train(false);

    /// <summary>The direct children, with their names.</summary>
    public virtual IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        if (registeredModules is not null)
            foreach (var entry in registeredModules) yield return entry;
        foreach (var (name, value) in Members())
        {
            if (value is Module m) { if (!IsRegistered(m)) yield return (name, m); }
            else if (value is IEnumerable list and not Tensor)
                foreach (var (key, item) in CollectionItems(list))
                    if (item is Module lm) yield return ($"{name}.{key}", lm);
        }
    }

    /// <summary>This module's own parameters (not its children's), with their names.</summary>
    protected virtual IEnumerable<(string Name, Parameter Parameter)> OwnParameters()
    {
        if (registeredParameters is not null)
            foreach (var entry in registeredParameters) yield return entry;
        CheckNothingHidden();
        foreach (var (name, value) in Members())
        {
            // A field declared as Tensor (or object) that holds a Parameter counts too.
            if (value is Parameter p) { if (!IsRegistered(p)) yield return (name, p); }
            else if (value is IEnumerable list and not Tensor)
                foreach (var (key, item) in CollectionItems(list))
                    if (item is Parameter lp && !IsRegistered(lp) && !OwnedByAChild(lp)) yield return ($"{name}.{key}", lp);
        }
    }

    /// <summary>This module's own buffers (not its children's), with their names.</summary>
    protected virtual IEnumerable<(string Name, Tensor Buffer)> OwnBuffers() =>
        registeredBuffers ?? Enumerable.Empty<(string, Tensor)>();

    private bool IsRegistered(object member) =>
        (registeredParameters?.Any(p => ReferenceEquals(p.Parameter, member)) ?? false)
        || (registeredModules?.Any(m => ReferenceEquals(m.Module, member)) ?? false);

    /// <summary>Every buffer of this module and its descendants, named with dots (<c>bn1.running_mean</c>).</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (name, b) in OwnBuffers())
            if (seen.Add(b)) yield return (name, b);
        foreach (var (childName, child) in NamedChildren())
            foreach (var (name, b) in child.NamedBuffers())
                if (seen.Add(b)) yield return ($"{childName}.{name}", b);
    }

    /// <summary>Every parameter of this module and its descendants, named with dots (<c>layers.0.weight</c>).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in OwnParameters())
            if (seen.Add(p)) yield return (name, p);
        foreach (var (childName, child) in NamedChildren())
            foreach (var (name, p) in child.NamedParameters())
                if (seen.Add(p)) yield return ($"{childName}.{name}", p);
    }

    /// <summary>Every parameter (shared ones once).</summary>
    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(np => np.Parameter).ToList();

    /// <summary>Total number of learnable values.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Length);

    /// <summary>
    /// Zeroes the gradients of all parameters in place (PyTorch's <c>zero_grad(set_to_none=False)</c>),
    /// so that steady-state training steps reuse the gradient buffers.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad?.Data.Clear();
    }

    /// <summary>The parameters and buffers by dotted name (the tensors themselves, not copies), as PyTorch's <c>state_dict</c>.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var state = NamedParameters().ToDictionary(np => np.Name, np => (Tensor)np.Parameter);
        foreach (var (name, b) in NamedBuffers()) state[name] = b;
        return state;
    }

    /// <summary>
    /// Copies values into the parameters and buffers by name. Every one must be present with its
    /// exact shape; extra entries are an error too (unless <paramref name="strict"/> is false).
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = NamedParameters().Select(np => (np.Name, (Tensor)np.Parameter)).Concat(NamedBuffers()).ToList();
        foreach (var (name, p) in own)
        {
            if (!state.TryGetValue(name, out var value))
            {
                if (strict) throw new KeyNotFoundException($"LoadStateDict: parameter '{name}' {p.Shape} is missing from the state.");
                continue;
            }
            if (value.Shape != p.Shape)
                throw new ShapeMismatchException($"LoadStateDict('{name}')", p.Shape, value.Shape, "saved shape differs from the model's");
            value.Data.CopyTo(p.Data);
        }
        if (strict)
        {
            var extra = state.Keys.Except(own.Select(o => o.Name)).ToList();
            if (extra.Count > 0) throw new ArgumentException($"LoadStateDict: unexpected entries {string.Join(", ", extra)}.");
        }
    }

    /// <summary>One line describing this layer, e.g. <c>Linear(784 => 256)</c>.</summary>
    public virtual string Describe() => GetType().Name + "()";

    /// <summary>A readable tree of the model with parameter counts.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Print(sb, "", 0);
        return sb.ToString().TrimEnd();
    }

    private void Print(StringBuilder sb, string prefix, int depth)
    {
        var children = NamedChildren().ToList();
        string pad = new(' ', depth * 2);
        long count = ParameterCount;
        string counted = count > 0 ? $"  # {count:N0} parameters" : "";
        if (children.Count == 0) { sb.Append(pad).Append(prefix).Append(Describe()).AppendLine(counted); return; }
        sb.Append(pad).Append(prefix).Append(GetType().Name).Append('(').AppendLine(counted);
        foreach (var (name, child) in children) child.Print(sb, $"({name}): ", depth + 1);
        sb.Append(pad).AppendLine(")");
    }

    // Fields of Parameter/Module type (or lists of modules), cached per type; auto-property
    // backing fields are named after their property.
    private static readonly Dictionary<Type, (FieldInfo Field, string Name)[]> fieldCache = new();

    private IEnumerable<(string Name, object? Value)> Members()
    {
        (FieldInfo, string)[] fields;
        lock (fieldCache)
        {
            if (!fieldCache.TryGetValue(GetType(), out fields!))
            {
                fields = FindFields(GetType());
                fieldCache[GetType()] = fields;
            }
        }
        foreach (var (f, name) in fields) yield return (name, f.GetValue(this));
    }

    // Declaration order (metadata token) where the runtime has it; native AOT has no tokens, and its
    // GetFields already returns declaration order, which the stable sort then keeps.
    private static int DeclarationOrder(FieldInfo f)
    {
        try { return f.MetadataToken; }
        catch (InvalidOperationException) { return 0; }
    }

    // Module carries [DynamicallyAccessedMembers(fields)], which the trimmer applies to every type
    // derived from it, so the fields of each type in the chain (all Modules) are kept; the analyser
    // cannot see that through BaseType.
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Every type in the chain derives from Module, whose annotation keeps its fields.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Every type in the chain derives from Module, whose annotation keeps its fields.")]
    private static (FieldInfo, string)[] FindFields(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t is not null && t != typeof(Module); t = t.BaseType) chain.Insert(0, t);
        var result = new List<(FieldInfo, string)>();
        foreach (var t in chain)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).OrderBy(DeclarationOrder))
            {
                if (IsMemberType(f.FieldType)) result.Add((f, MemberName(f, t)));
            }
        return result.ToArray();
    }


}
