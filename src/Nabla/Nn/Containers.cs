using System.Collections;

namespace Nabla.Nn;

/// <summary>
/// A list of modules whose parameters belong to the module holding it, as PyTorch's <c>nn.ModuleList</c>: children are
/// named "0", "1", … (<c>blocks.0.weight</c>). It has no <see cref="Forward"/> of its own: iterate it in your module's.
/// </summary>
public sealed class ModuleList : Module, IList<Module>, IReadOnlyList<Module>
{
    private readonly List<Module> modules = new();

    /// <summary>Creates the list from <paramref name="modules"/>.</summary>
    public ModuleList(params Module[] modules) : this((IEnumerable<Module>)modules) { }

    /// <summary>Creates the list from <paramref name="modules"/>.</summary>
    public ModuleList(IEnumerable<Module> modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <inheritdoc/>
    public Module this[int index]
    {
        get => modules[index < 0 ? index + modules.Count : index];
        set => modules[index < 0 ? index + modules.Count : index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <inheritdoc cref="ICollection{T}.Count"/>
    public int Count => modules.Count;

    bool ICollection<Module>.IsReadOnly => false;

    /// <inheritdoc/>
    public void Add(Module item) => modules.Add(item ?? throw new ArgumentNullException(nameof(item)));

    /// <inheritdoc/>
    public void Insert(int index, Module item) => modules.Insert(index, item ?? throw new ArgumentNullException(nameof(item)));

    /// <inheritdoc/>
    public void RemoveAt(int index) => modules.RemoveAt(index);

    /// <inheritdoc/>
    public bool Remove(Module item) => modules.Remove(item);

    /// <inheritdoc/>
    public void Clear() => modules.Clear();

    /// <inheritdoc/>
    public bool Contains(Module item) => modules.Contains(item);

    /// <inheritdoc/>
    public int IndexOf(Module item) => modules.IndexOf(item);

    /// <inheritdoc/>
    public void CopyTo(Module[] array, int arrayIndex) => modules.CopyTo(array, arrayIndex);

    /// <summary>Not supported: a ModuleList only holds modules; its owner's Forward decides how they are applied.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("ModuleList has no Forward (as in PyTorch): iterate it in the Forward of the module that holds it, or use Sequential.");

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> NamedChildren() =>
        modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m));

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => modules.GetEnumerator();
}

/// <summary>
/// Modules by name, in insertion order, as PyTorch's <c>nn.ModuleDict</c>: children are named by their keys
/// (<c>heads.digits.weight</c>). Keys must be non-empty and contain no dots. It has no <see cref="Forward"/> of its own.
/// </summary>
public sealed class ModuleDict : Module, IEnumerable<KeyValuePair<string, Module>>
{
    private readonly List<string> order = new();
    private readonly Dictionary<string, Module> modules = new(StringComparer.Ordinal);

    /// <summary>An empty dictionary (fill it with a collection initialiser: <c>new ModuleDict { ["a"] = new Linear(2, 3) }</c>).</summary>
    public ModuleDict() { }

    /// <summary>Creates the dictionary from named modules, in order.</summary>
    public ModuleDict(IEnumerable<KeyValuePair<string, Module>> modules)
    {
        foreach (var (k, v) in modules) this[k] = v;
    }

    /// <summary>The module under <paramref name="key"/>; setting adds or replaces it.</summary>
    public Module this[string key]
    {
        get => modules.TryGetValue(key, out var m) ? m : throw new KeyNotFoundException($"ModuleDict: no module under '{key}' (keys: {string.Join(", ", order)}).");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (string.IsNullOrEmpty(key) || key.Contains('.'))
                throw new ArgumentException($"ModuleDict: key '{key}' must be non-empty and contain no dots (keys become parameter names).", nameof(key));
            if (!modules.ContainsKey(key)) order.Add(key);
            modules[key] = value;
        }
    }

    /// <summary>Adds <paramref name="module"/> under <paramref name="key"/>.</summary>
    public void Add(string key, Module module)
    {
        if (modules.ContainsKey(key)) throw new ArgumentException($"ModuleDict: key '{key}' is already present.", nameof(key));
        this[key] = module;
    }

    /// <summary>Removes the module under <paramref name="key"/>; false when absent.</summary>
    public bool Remove(string key) => modules.Remove(key) && order.Remove(key);

    /// <summary>Whether a module is stored under <paramref name="key"/>.</summary>
    public bool ContainsKey(string key) => modules.ContainsKey(key);

    /// <summary>The keys in insertion order.</summary>
    public IReadOnlyList<string> Keys => order;

    /// <summary>Number of modules.</summary>
    public int Count => order.Count;

    /// <summary>Not supported: the module holding the dictionary decides which entries to apply.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("ModuleDict has no Forward (as in PyTorch): pick its modules by key in the Forward of the module that holds it.");

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> NamedChildren() => order.Select(k => (k, modules[k]));

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() =>
        order.Select(k => new KeyValuePair<string, Module>(k, modules[k])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
