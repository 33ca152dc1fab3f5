using System.Diagnostics.CodeAnalysis;
using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Nabla.Nn;

/// <summary>
/// Sets the name under which a field (or auto-property) of a user's module appears in parameter names and the state
/// dict, instead of the field's own name: <c>[ParameterName("fc1")] readonly Linear first = new(784, 128);</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false)]
public sealed class ParameterNameAttribute(string name) : Attribute
{
    /// <summary>The name to use (non-empty, no dots).</summary>
    public string Name { get; } = name;
}

public abstract partial class Module
{
    // ---------------------------------------------------------------- freezing

    /// <summary>
    /// Freezes every parameter of this module (and its children): they stop requiring gradients and optimisers skip them,
    /// even if they still hold a gradient from earlier steps (e.g. frozen mid-training). Returns the module.
    /// </summary>
    public Module Freeze()
    {
        foreach (var p in Parameters()) p.RequiresGrad = false;
        return this;
    }

    /// <summary>Makes every parameter of this module trainable again.</summary>
    public Module Unfreeze()
    {
        foreach (var p in Parameters()) p.RequiresGrad = true;
        return this;
    }

    /// <summary>
    /// Freezes the parameters whose dotted name is one of <paramref name="prefixes"/> or lies under it
    /// (<c>"0"</c> freezes <c>0.weight</c> and <c>0.bias</c> but not <c>10.weight</c>; <c>"body"</c> freezes <c>body.*</c>).
    /// A prefix that matches no parameter is an error naming the known ones.
    /// </summary>
    public Module Freeze(params string[] prefixes) => SetTrainable(prefixes, false);

    /// <summary>Makes the parameters under <paramref name="prefixes"/> trainable again (see <see cref="Freeze(string[])"/>).</summary>
    public Module Unfreeze(params string[] prefixes) => SetTrainable(prefixes, true);

    private Module SetTrainable(string[] prefixes, bool trainable)
    {
        var named = NamedParameters().ToList();
        foreach (var prefix in prefixes)
        {
            var matches = named.Where(np => UnderPrefix(np.Name, prefix)).ToList();
            if (matches.Count == 0)
                throw new ArgumentException(
                    $"{(trainable ? "Unfreeze" : "Freeze")}: no parameter is named '{prefix}' or starts with '{prefix.TrimEnd('.')}.'; the parameters are {string.Join(", ", named.Select(n => n.Name))}.");
            foreach (var (_, p) in matches) p.RequiresGrad = trainable;
        }
        return this;
    }

    /// <summary>Whether <paramref name="name"/> is <paramref name="prefix"/> or a dotted descendant of it.</summary>
    internal static bool UnderPrefix(string name, string prefix)
    {
        string p = prefix.TrimEnd('.');
        return p.Length == 0 || name == p || name.StartsWith(p + ".", StringComparison.Ordinal);
    }

    /// <summary>The parameters that are not frozen (those an optimiser updates), as PyTorch's <c>filter(lambda p: p.requires_grad, …)</c>.</summary>
    public IReadOnlyList<Parameter> TrainableParameters() => Parameters().Where(p => p.RequiresGrad).ToList();

    /// <summary>The dotted names of the frozen parameters.</summary>
    public IReadOnlyList<string> FrozenParameterNames() => NamedParameters().Where(np => !np.Parameter.RequiresGrad).Select(np => np.Name).ToList();

    // ---------------------------------------------------------------- discovery of users' fields

    /// <summary>
    /// Whether <paramref name="p"/> belongs to a child module: a list that merely refers to the children's parameters
    /// (e.g. a wrapper's flat list for its communication) names nothing new; the children name them.
    /// </summary>
    private bool OwnedByAChild(Parameter p)
    {
        foreach (var (_, child) in NamedChildren())
            foreach (var cp in child.Parameters())
                if (ReferenceEquals(cp, p)) return true;
        return false;
    }

    /// <summary>Field types whose values are parameters, modules or collections of them (found by reflection).</summary>
    private static bool IsMemberType(Type t)
    {
        if (typeof(Tensor).IsAssignableFrom(t) || typeof(Module).IsAssignableFrom(t)) return true;
        if (t.IsArray) return IsMemberType(t.GetElementType()!);
        if (typeof(IEnumerable).IsAssignableFrom(t) && t.IsGenericType)
            return t.GetGenericArguments().Any(a => typeof(Parameter).IsAssignableFrom(a) || typeof(Module).IsAssignableFrom(a));
        return false;
    }

    /// <summary>
    /// The name of a field as written (an auto-property's name for its backing field), or the one set by
    /// <see cref="ParameterNameAttribute"/>. The private-field prefixes <c>_</c> and <c>m_</c> are dropped; nothing else changes.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "declaring is a Module type, whose annotation keeps its properties.")]
    private static string MemberName(FieldInfo f, Type declaring)
    {
        if (f.GetCustomAttribute<ParameterNameAttribute>() is { } fa) return CheckedName(fa.Name, f, declaring);
        string name = f.Name;
        if (name.StartsWith('<'))
        {
            name = name[1..name.IndexOf('>')];
            var prop = declaring.GetProperty(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            if (prop?.GetCustomAttribute<ParameterNameAttribute>() is { } pa) return CheckedName(pa.Name, f, declaring);
            return name;
        }
        if (name.StartsWith("m_", StringComparison.Ordinal)) name = name[2..];
        name = name.TrimStart('_');
        return name.Length == 0 ? f.Name : name;
    }

    private static string CheckedName(string name, FieldInfo f, Type declaring)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{declaring.Name}.{f.Name}: [ParameterName(\"{name}\")] must be non-empty and contain no dots.");
        return name;
    }

    /// <summary>The items of a list, array or dictionary field with their names: positions ("0", "1", …) or dictionary keys.</summary>
    private static IEnumerable<(string Key, object? Item)> CollectionItems(IEnumerable collection)
    {
        if (collection is IDictionary dict)
        {
            foreach (DictionaryEntry e in dict)
            {
                string key = Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                if (key.Length == 0 || key.Contains('.'))
                    throw new ArgumentException($"A dictionary of modules or parameters has the key '{key}'; keys become parameter names and must be non-empty without dots.");
                yield return (key, e.Value);
            }
            yield break;
        }
        int i = 0;
        foreach (var item in collection) yield return (i++.ToString(System.Globalization.CultureInfo.InvariantCulture), item);
    }

    // Fields whose declared type discovery does not look into but whose value might hide a parameter
    // (object, tuples, users' own non-module classes), cached per type.
    private static readonly Dictionary<Type, FieldInfo[]> suspectCache = new();

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Every type in the chain derives from Module, whose annotation keeps its fields.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Every type in the chain derives from Module, whose annotation keeps its fields.")]
    private static FieldInfo[] SuspectFields(Type type)
    {
        lock (suspectCache)
        {
            if (suspectCache.TryGetValue(type, out var cached)) return cached;
            var result = new List<FieldInfo>();
            for (var t = type; t is not null && t != typeof(Module); t = t.BaseType)
                foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    if (!IsMemberType(f.FieldType) && MightHide(f.FieldType)) result.Add(f);
            return suspectCache[type] = result.ToArray();
        }
    }

    private static bool MightHide(Type t)
    {
        if (t == typeof(object) || typeof(ITuple).IsAssignableFrom(t)) return true;
        if (t.IsPrimitive || t.IsEnum || t == typeof(string) || typeof(Delegate).IsAssignableFrom(t) || t.IsPointer) return false;
        string? ns = t.Namespace;
        bool framework = ns is not null && (ns == "System" || ns.StartsWith("System.", StringComparison.Ordinal) || ns.StartsWith("Microsoft.", StringComparison.Ordinal));
        bool library = t.Assembly == typeof(Module).Assembly;
        return !framework && !library; // a user's own class or struct
    }

    /// <summary>
    /// Throws when a field that discovery does not look into holds a <see cref="Parameter"/> or <see cref="Module"/>:
    /// such a parameter would silently be missing from <see cref="Parameters"/>, so the optimiser would never train it.
    /// </summary>
    private void CheckNothingHidden()
    {
        foreach (var f in SuspectFields(GetType()))
        {
            object? value = f.GetValue(this);
            if (value is null) continue;
            string? hidden = HiddenMember(value);
            if (hidden is null) continue;
            string field = f.Name.StartsWith('<') ? f.Name[1..f.Name.IndexOf('>')] : f.Name;
            throw new InvalidOperationException(
                $"{GetType().Name}.{field} ({f.FieldType.Name}) holds {hidden}, which Parameters() cannot see, so an optimiser would never train it. " +
                "Keep parameters and layers in fields of type Parameter, Module, or arrays, lists or dictionaries of them; " +
                "make the holder class a Module; or declare them with RegisterParameter / RegisterModule.");
        }
    }

    // A diagnostic only: where trimming removed a field of a user's helper object, that field cannot
    // hold anything at run time either, so nothing is missed.
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Diagnostic scan of fields that exist at run time; removed fields hold nothing.")]
    private static string? HiddenMember(object value)
    {
        if (value is Parameter) return "a Parameter";
        if (value is Module m) return $"a {m.GetType().Name} module";
        if (value is ITuple tuple)
        {
            for (int i = 0; i < tuple.Length; i++)
                if (tuple[i] is Parameter or Module) return $"a {tuple[i]!.GetType().Name} (tuple item {i + 1})";
            return null;
        }
        if (!MightHide(value.GetType())) return null;
        foreach (var f in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            object? inner = f.GetValue(value);
            if (inner is Parameter or Module) return $"a {inner.GetType().Name} in its field {f.Name}";
            if (inner is IEnumerable list and not Tensor && IsMemberType(f.FieldType))
                foreach (var item in list)
                    if (item is Parameter or Module) return $"a {item.GetType().Name} in its collection {f.Name}";
        }
        return null;
    }
}
