using System.Text;
using System.Text.Json.Nodes;

namespace Nabla.Tests.Fuzz;

/// <summary>The classes of mutation the fuzz suite applies (counted per class in its report).</summary>
public enum MutationKind
{
    /// <summary>1 to 8 random bits flipped.</summary>
    BitFlip,
    /// <summary>Cut at a random length.</summary>
    Truncate,
    /// <summary>1 to 64 random bytes inserted at a random place.</summary>
    Insert,
    /// <summary>A random range copied to another place.</summary>
    DuplicateRange,
    /// <summary>Bytes set to boundary values (00, FF, 7F, 80) at a random place.</summary>
    Interesting,
    /// <summary>A header field of the format rewritten (dimensions, lengths, offsets, shapes, sizes).</summary>
    HeaderEdit,
}

/// <summary>Seeded mutations of valid files; the header edit is format-specific.</summary>
public sealed class Mutator(int seed, Func<byte[], Random, byte[]> headerEdit)
{
    private readonly Random rng = new(seed);

    /// <summary>The mutation of kind <paramref name="kind"/> applied to a copy of <paramref name="input"/>.</summary>
    public byte[] Mutate(byte[] input, MutationKind kind)
    {
        var b = (byte[])input.Clone();
        switch (kind)
        {
            case MutationKind.BitFlip:
                for (int i = 0, n = rng.Next(1, 9); i < n && b.Length > 0; i++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case MutationKind.Truncate:
                return b[..rng.Next(b.Length)];
            case MutationKind.Insert:
            {
                var ins = new byte[rng.Next(1, 65)];
                rng.NextBytes(ins);
                int at = rng.Next(b.Length + 1);
                return [.. b.AsSpan(0, at), .. ins, .. b.AsSpan(at)];
            }
            case MutationKind.DuplicateRange:
            {
                if (b.Length < 2) return [.. b, .. b];
                int from = rng.Next(b.Length), len = rng.Next(1, Math.Min(256, b.Length - from) + 1), at = rng.Next(b.Length + 1);
                return [.. b.AsSpan(0, at), .. b.AsSpan(from, len), .. b.AsSpan(at)];
            }
            case MutationKind.Interesting:
            {
                byte[] values = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE];
                // Mostly near the start, where the headers are.
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(b.Length, 64)) : rng.Next(Math.Max(1, b.Length));
                for (int i = 0, n = rng.Next(1, 5); i < n && at + i < b.Length; i++) b[at + i] = values[rng.Next(values.Length)];
                return b;
            }
            default:
                return headerEdit(b, rng);
        }
    }

    /// <summary>A number a header edit writes: boundaries, off-by-one and absurd values.</summary>
    public static long InterestingNumber(Random rng, long current) => rng.Next(12) switch
    {
        0 => 0,
        1 => -1,
        2 => current + 1,
        3 => current - 1,
        4 => current * 2,
        5 => int.MaxValue,
        6 => (long)int.MaxValue + 1,
        7 => uint.MaxValue,
        8 => 65536,
        9 => 20000,
        10 => long.MaxValue,
        _ => rng.Next(0, 1 << 20),
    };

    /// <summary>Header edit for IDX: the type code, the rank or one dimension.</summary>
    public static byte[] EditIdxHeader(byte[] b, Random rng)
    {
        if (b.Length < 4) return b;
        int rank = b[3];
        switch (rng.Next(3))
        {
            case 0: b[2] = (byte)rng.Next(256); break;
            case 1: b[3] = (byte)Math.Clamp(rank + rng.Next(-2, 3), 0, 255); break;
            default:
            {
                int dim = rng.Next(Math.Max(1, rank));
                int off = 4 + 4 * dim;
                if (off + 4 > b.Length) break;
                long cur = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(off));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(off), unchecked((uint)InterestingNumber(rng, cur)));
                break;
            }
        }
        return b;
    }

    /// <summary>Header edit for safetensors and model files: a shape, offset, dtype, the header length or an architecture number.</summary>
    public static byte[] EditSafeTensorsHeader(byte[] b, Random rng)
    {
        if (rng.Next(8) == 0 && b.Length >= 8)
        {
            long cur = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, unchecked((ulong)InterestingNumber(rng, cur)));
            return b;
        }
        JsonObject h;
        byte[] data;
        try { (h, data) = FuzzFiles.SplitSafeTensors(b); }
        catch (Exception) { return b; }
        var names = h.Where(kv => kv.Key != "__metadata__").Select(kv => kv.Key).ToList();
        int what = rng.Next(6);
        if (what == 5 && h["__metadata__"]?["nabla.architecture"] is JsonNode archNode)
        {
            var arch = JsonNode.Parse(archNode.GetValue<string>())!;
            var numbers = new List<(JsonObject Owner, string Key)>();
            void Walk(JsonNode? n)
            {
                if (n is JsonObject o) foreach (var (k, v) in o.ToList()) { if (v is JsonValue jv && jv.TryGetValue<double>(out _)) numbers.Add((o, k)); else Walk(v); }
                else if (n is JsonArray a) foreach (var v in a) Walk(v);
            }
            Walk(arch);
            if (numbers.Count > 0)
            {
                var (owner, key) = numbers[rng.Next(numbers.Count)];
                owner[key] = InterestingNumber(rng, (long)owner[key]!.GetValue<double>());
            }
            h["__metadata__"]!["nabla.architecture"] = arch.ToJsonString();
        }
        else if (names.Count > 0)
        {
            var t = h[names[rng.Next(names.Count)]]!.AsObject();
            switch (what)
            {
                case 0 or 1:
                {
                    var offs = t["data_offsets"]!.AsArray();
                    int i = rng.Next(2);
                    offs[i] = InterestingNumber(rng, offs[i]!.GetValue<long>());
                    break;
                }
                case 2:
                {
                    var shape = t["shape"]!.AsArray();
                    if (shape.Count == 0) shape.Add(2);
                    else { int i = rng.Next(shape.Count); shape[i] = InterestingNumber(rng, shape[i]!.GetValue<long>()); }
                    break;
                }
                case 3:
                    t["dtype"] = new[] { "F16", "BF16", "F64", "I32", "U8", "", "f32" }[rng.Next(7)];
                    break;
                default:
                    t.Remove(new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)]);
                    break;
            }
        }
        return FuzzFiles.JoinSafeTensors(h, data);
    }

    /// <summary>Header edit for PGM: width, height or maximum value rewritten as text.</summary>
    public static byte[] EditPgmHeader(byte[] b, Random rng)
    {
        // Find the first three numbers after the magic and replace one.
        string head = Encoding.ASCII.GetString(b, 0, Math.Min(b.Length, 64));
        var m = System.Text.RegularExpressions.Regex.Matches(head, "[0-9]+");
        int skip = head.StartsWith('P') ? 1 : 0; // the magic's digit
        if (m.Count <= skip) return b;
        var pick = m[skip + rng.Next(Math.Min(3, m.Count - skip))];
        long cur = long.Parse(pick.Value, System.Globalization.CultureInfo.InvariantCulture);
        var repl = Encoding.ASCII.GetBytes(InterestingNumber(rng, cur).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return [.. b.AsSpan(0, pick.Index), .. repl, .. b.AsSpan(pick.Index + pick.Length)];
    }

    /// <summary>Header edit for PNG: IHDR width, height, bit depth or colour type, with the chunk's CRC fixed so the decoder sees it.</summary>
    public static byte[] EditPngHeader(byte[] b, Random rng)
    {
        if (b.Length < 33) return b;
        switch (rng.Next(4))
        {
            case 0 or 1:
            {
                int off = 16 + 4 * rng.Next(2);
                long cur = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(off));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(off), unchecked((uint)InterestingNumber(rng, cur)));
                break;
            }
            case 2: b[24] = new byte[] { 0, 1, 2, 4, 8, 16, 3, 255 }[rng.Next(8)]; break;
            default: b[25] = new byte[] { 0, 2, 3, 4, 6, 1, 7, 255 }[rng.Next(8)]; break;
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), FuzzFiles.Crc32(b.AsSpan(12, 17)));
        return b;
    }
}
