using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// The byte-to-float table lookup that gathers byte data sets: every path (AVX-512 permutes, AVX2
/// gather, scalar; CI runs this class with each switched off) returns exactly the table's entries.
/// </summary>
[Trait("Category", "Kernels")]
public class ByteTableTests
{
    // Entries whose bits would show any arithmetic: signed zeros, infinities, NaN payloads, denormals, and
    // neighbours of 32-entry boundaries (the permutes' pairs) that differ from each other.
    private static float[] OddTable()
    {
        var t = new float[256];
        var rng = new Random(9);
        for (int v = 0; v < 256; v++) t[v] = (float)(rng.NextDouble() * 2 - 1) * v;
        t[0] = -0f; t[1] = float.PositiveInfinity; t[31] = float.NegativeInfinity; t[32] = BitConverter.Int32BitsToSingle(0x7FC0_1234);
        t[63] = float.Epsilon; t[64] = -float.Epsilon; t[127] = float.MaxValue; t[128] = float.MinValue; t[255] = 1e-40f;
        return t;
    }

    [Fact]
    public void EveryByteValueAtEveryPositionGivesItsTableEntry()
    {
        float[] t = OddTable();
        var rng = new Random(3);
        foreach (int n in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 256, 784, 1000 })
        {
            for (int offset = 0; offset < 3; offset++)
            {
                var src = new byte[n + offset];
                if (n == 256) for (int i = 0; i < 256; i++) src[offset + i] = (byte)(255 - i);
                else rng.NextBytes(src);
                var dst = new float[n + 5];
                dst.AsSpan().Fill(42f);
                ByteTable.Lookup(src.AsSpan(offset, n), t, dst);
                for (int i = 0; i < n; i++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(t[src[offset + i]]), BitConverter.SingleToInt32Bits(dst[i]));
                for (int i = n; i < dst.Length; i++) Assert.Equal(42f, dst[i]); // nothing written past the source's length
            }
        }
    }

    [Fact]
    public void RejectsAShortTableOrDestination()
    {
        Assert.Contains("256 entries", Assert.Throws<ArgumentException>(() => ByteTable.Lookup(new byte[4], new float[255], new float[4])).Message);
        Assert.Contains("destination holds 3", Assert.Throws<ArgumentException>(() => ByteTable.Lookup(new byte[4], new float[256], new float[3])).Message);
        ByteTable.Prefetch(ReadOnlySpan<byte>.Empty); // a hint: empty and odd lengths are fine
        ByteTable.Prefetch(new byte[65]);
    }
}
