using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Nabla.Data;
using Nabla.Optim;
using Module = Nabla.Nn.Module;

// The snapshot walks the fields of run-time types; in a trimmed app a removed field makes Restore report a mismatch
// (the same type name with other fields) rather than restore wrong values.
#pragma warning disable IL2070, IL2072, IL2075, IL2067, IL2026, IL3050

namespace Nabla.Training;

/// <summary>
/// Saves and restores the private state of objects a training run carries besides tensors — random generators
/// (<see cref="Random"/>, whose state .NET does not expose), callbacks (early stopping's best value, patience
/// count and best weights; schedules' counters) — by walking their fields. The snapshot is restored into an
/// object built the same way (same types, same configuration), so it holds values only, never types to create.
/// Fields holding models, optimisers, tensors, data sets or delegates are not part of the state (they are saved
/// elsewhere or are configuration), nor are collections other than arrays.
/// </summary>
internal static class StateSnapshot
{
    private const int MaxDepth = 12;

    /// <summary>The state of <paramref name="value"/> as bytes.</summary>
    // Keep the fields walked here in trimmed and native-AOT builds (the tool publishes as native AOT).
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields, "System.Random.CompatSeedImpl", "System.Private.CoreLib")]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields, "System.Random.CompatDerivedImpl", "System.Private.CoreLib")]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields, "System.Random.CompatPrng", "System.Private.CoreLib")]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields, "System.Random.XoshiroImpl", "System.Private.CoreLib")]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.NonPublicFields, typeof(Random))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(EarlyStopping))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(LearningRateScheduler))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(LearningRateSchedule))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(StepLR))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(ExponentialLR))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(CosineAnnealingLR))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.AllFields, typeof(ReduceLROnPlateau))]
    public static byte[] Save(object value)
    {
        // The process-wide generator is a lock around a plain one: its state is the plain one's (a checkpoint
        // written before the lock existed restores into it too).
        if (value is Nn.LockedRandom locked) value = locked.Inner;
        // A generator whose state cannot be read (fields removed from a trimmed build) must not be "saved" empty:
        // the resumed run would silently draw other numbers.
        if (value is Random && CountState(value.GetType(), 0) == 0)
            throw new InvalidOperationException("StateSnapshot: the state of System.Random is not readable in this build; checkpoints cannot resume it exactly.");
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms)) Write(w, value, value.GetType(), 0);
        return ms.ToArray();
    }

    /// <summary>Restores <paramref name="bytes"/> (from <see cref="Save"/>) into <paramref name="target"/>.</summary>
    /// <exception cref="InvalidDataException">The snapshot does not fit the object.</exception>
    public static void Restore(object target, byte[] bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes));
        Read(r, target, target.GetType(), 0);
        if (r.BaseStream.Position != r.BaseStream.Length) throw new InvalidDataException($"state of {target.GetType().Name}: {r.BaseStream.Length - r.BaseStream.Position} bytes left over.");
    }

    private static int CountState(Type t, int depth)
    {
        if (depth > MaxDepth) return 0;
        int n = 0;
        foreach (var f in Fields(t)) n += IsScalar(f.FieldType) || IsStateArray(f.FieldType) ? 1 : f.FieldType.IsSealed || f.FieldType.IsValueType ? CountState(f.FieldType, depth + 1) : 1;
        return n;
    }

    // A nullable scalar (a schedule's float? base rate, set at its first step) counts as one: a field of a type
    // that is neither saved nor walked is silently left out of the snapshot, and the resumed run goes on with the
    // value its freshly built object has.
    private static bool IsScalar(Type t) => t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal)
        || Nullable.GetUnderlyingType(t) is { } u && IsScalar(u);

    private static bool IsStateArray(Type t) => t.IsArray && t.GetArrayRank() == 1 && (IsScalar(t.GetElementType()!) || IsStateArray(t.GetElementType()!));

    // Objects walked into: Nabla's own (callbacks, schedules, layers' helpers) and System.Random with its implementations.
    private static bool IsWalkable(Type t)
    {
        if (typeof(Delegate).IsAssignableFrom(t) || typeof(Module).IsAssignableFrom(t) || typeof(Optimizer).IsAssignableFrom(t)
            || typeof(Tensor).IsAssignableFrom(t) || typeof(Dataset).IsAssignableFrom(t) || typeof(TrainingContext).IsAssignableFrom(t))
            return false;
        if (typeof(Random).IsAssignableFrom(t)) return true;
        for (var d = t; d is not null; d = d.DeclaringType) if (d == typeof(Random)) return true;
        return t.Namespace?.StartsWith("Nabla", StringComparison.Ordinal) == true && !t.IsInterface;
    }

    // Walks types that the DynamicDependency attributes on Save keep (Nabla's callbacks and schedules,
    // System.Random and its implementations); a list, not an iterator, so the suppression covers it.
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The walked types are kept by the DynamicDependency attributes on Save.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The walked types are kept by the DynamicDependency attributes on Save.")]
    private static List<FieldInfo> Fields(Type t)
    {
        var chain = new List<Type>();
        for (var c = t; c is not null && c != typeof(object) && c != typeof(ValueType); c = c.BaseType) chain.Add(c);
        chain.Reverse();
        var result = new List<FieldInfo>();
        foreach (var c in chain)
            foreach (var f in c.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).OrderBy(f => f.Name, StringComparer.Ordinal))
                if (IsScalar(f.FieldType) || IsStateArray(f.FieldType) || IsWalkable(f.FieldType)) result.Add(f);
        return result;
    }

    private static void Write(BinaryWriter w, object? value, Type declared, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException("StateSnapshot: objects nested too deeply.");
        if (IsScalar(declared))
        {
            WriteScalar(w, value, declared);
            return;
        }
        if (!declared.IsValueType)
        {
            w.Write(value is not null);
            if (value is null) return;
        }
        if (declared.IsArray)
        {
            var a = (Array)value!;
            w.Write(a.Length);
            var e = declared.GetElementType()!;
            for (int i = 0; i < a.Length; i++) Write(w, a.GetValue(i), e, depth + 1);
            return;
        }
        if (value is Nn.LockedRandom locked) value = locked.Inner;
        var type = value!.GetType();
        w.Write(type.FullName ?? type.Name);
        foreach (var f in Fields(type)) Write(w, f.GetValue(value), f.FieldType, depth + 1);
    }

    private static object? Read(BinaryReader r, object? existing, Type declared, int depth)
    {
        if (depth > MaxDepth) throw new InvalidDataException("state nested too deeply.");
        if (IsScalar(declared)) return ReadScalar(r, declared);
        if (!declared.IsValueType && !r.ReadBoolean()) return null;
        if (declared.IsArray)
        {
            int n = r.ReadInt32();
            if (n < 0 || n > r.BaseStream.Length - r.BaseStream.Position + 1) throw new InvalidDataException($"state array of {n} elements is longer than the snapshot.");
            var e = declared.GetElementType()!;
            var a = existing is Array old && old.Length == n ? old : Array.CreateInstance(e, n);
            for (int i = 0; i < n; i++) a.SetValue(Read(r, a.GetValue(i), e, depth + 1), i);
            return a;
        }
        string saved = r.ReadString();
        if (existing is null)
            throw new InvalidDataException($"state holds a {saved} where the object being restored has none; build it the same way before restoring.");
        // A locked generator takes the state into the generator behind its lock, and stays where it is.
        object target = existing is Nn.LockedRandom locked ? locked.Inner : existing; // a boxed copy for structs, written back by the caller
        var type = target.GetType();
        if ((type.FullName ?? type.Name) != saved)
            throw new InvalidDataException($"state of a {saved} cannot be restored into a {type.FullName}.");
        foreach (var f in Fields(type)) f.SetValue(target, Read(r, f.GetValue(target), f.FieldType, depth + 1));
        return existing is Nn.LockedRandom ? existing : target;
    }

    private static void WriteScalar(BinaryWriter w, object? v, Type t)
    {
        if (t == typeof(string)) { w.Write(v is not null); if (v is not null) w.Write((string)v); return; }
        if (Nullable.GetUnderlyingType(t) is { } u) { w.Write(v is not null); if (v is not null) WriteScalar(w, v, u); return; }
        if (t.IsEnum) { w.Write(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)); return; }
        switch (v)
        {
            case bool b: w.Write(b); break;
            case byte b: w.Write(b); break;
            case sbyte b: w.Write(b); break;
            case short s: w.Write(s); break;
            case ushort s: w.Write(s); break;
            case char c: w.Write((ushort)c); break;
            case int i: w.Write(i); break;
            case uint i: w.Write(i); break;
            case long l: w.Write(l); break;
            case ulong l: w.Write(l); break;
            case float f: w.Write(f); break;
            case double d: w.Write(d); break;
            case decimal m: w.Write(m); break;
            case nint n: w.Write((long)n); break;
            case nuint n: w.Write((ulong)n); break;
            default: throw new InvalidOperationException($"StateSnapshot: cannot save a {t.Name}.");
        }
    }

    private static object? ReadScalar(BinaryReader r, Type t)
    {
        if (t == typeof(string)) return r.ReadBoolean() ? r.ReadString() : null;
        if (Nullable.GetUnderlyingType(t) is { } u) return r.ReadBoolean() ? ReadScalar(r, u) : null;
        if (t.IsEnum) return Enum.ToObject(t, r.ReadInt64());
        if (t == typeof(bool)) return r.ReadBoolean();
        if (t == typeof(byte)) return r.ReadByte();
        if (t == typeof(sbyte)) return r.ReadSByte();
        if (t == typeof(short)) return r.ReadInt16();
        if (t == typeof(ushort)) return r.ReadUInt16();
        if (t == typeof(char)) return (char)r.ReadUInt16();
        if (t == typeof(int)) return r.ReadInt32();
        if (t == typeof(uint)) return r.ReadUInt32();
        if (t == typeof(long)) return r.ReadInt64();
        if (t == typeof(ulong)) return r.ReadUInt64();
        if (t == typeof(float)) return r.ReadSingle();
        if (t == typeof(double)) return r.ReadDouble();
        if (t == typeof(decimal)) return r.ReadDecimal();
        if (t == typeof(nint)) return (nint)r.ReadInt64();
        if (t == typeof(nuint)) return (nuint)r.ReadUInt64();
        throw new InvalidDataException($"cannot restore a {t.Name}.");
    }
}
