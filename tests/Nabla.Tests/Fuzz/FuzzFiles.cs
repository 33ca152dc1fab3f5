using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Tests.Fuzz;

/// <summary>Valid files of every format the library and the tool read, and raw editing of safetensors files.</summary>
internal static class FuzzFiles
{
    /// <summary>Raw IDX bytes of <paramref name="count"/> 8x8 images (UInt8 [count x 8 x 8]).</summary>
    public static byte[] IdxImages(int count = 6, int side = 8, int seed = 1)
    {
        var rng = new Random(seed);
        var data = new byte[count * side * side];
        rng.NextBytes(data);
        return IdxBytes(new IdxArray(IdxType.UInt8, [count, side, side], data));
    }

    /// <summary>Raw IDX bytes of a float32 array, to exercise the typed conversion.</summary>
    public static byte[] IdxFloats(int n = 24, int seed = 2)
    {
        var rng = new Random(seed);
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)rng.NextDouble();
        return IdxBytes(new IdxArray(IdxType.Float32, [n / 4, 4], data));
    }

    public static byte[] IdxBytes(IdxArray array)
    {
        var ms = new MemoryStream();
        Idx.Write(ms, array);
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>A model file (a small MLP saved by ModelFile, with the architecture in its metadata).</summary>
    public static byte[] ModelBytes(string dir, int inputs = 6, int hidden = 5, int classes = 3)
    {
        var model = new Sequential(new Linear(inputs, hidden, rng: new Random(3)), new ReLU(), new Linear(hidden, classes, rng: new Random(4)));
        string p = Path.Combine(dir, $"model-{Guid.NewGuid():N}.safetensors");
        ModelFile.Save(p, model, metadata: new Dictionary<string, string> { ["note"] = "fuzz seed" });
        var bytes = File.ReadAllBytes(p);
        File.Delete(p);
        return bytes;
    }

    /// <summary>The header (as JSON) and data buffer of a safetensors file.</summary>
    public static (JsonObject Header, byte[] Data) SplitSafeTensors(byte[] file)
    {
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)n))!.AsObject();
        return (header, file[(8 + (int)n)..]);
    }

    /// <summary>A safetensors file of <paramref name="header"/> and <paramref name="data"/> (no padding).</summary>
    public static byte[] JoinSafeTensors(JsonObject header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        var r = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(r, (ulong)h.Length);
        h.CopyTo(r, 8);
        data.CopyTo(r, 8 + h.Length);
        return r;
    }

    /// <summary>A binary PGM (P5) of a gradient.</summary>
    public static byte[] Pgm(int w = 12, int h = 10)
    {
        var head = Encoding.ASCII.GetBytes($"P5\n# fuzz\n{w} {h}\n255\n");
        var r = new byte[head.Length + w * h];
        head.CopyTo(r, 0);
        for (int i = 0; i < w * h; i++) r[head.Length + i] = (byte)(i * 7);
        return r;
    }

    /// <summary>An ASCII PGM (P2).</summary>
    public static byte[] PgmAscii(int w = 6, int h = 5)
    {
        var sb = new StringBuilder($"P2\n{w} {h}\n15\n");
        for (int i = 0; i < w * h; i++) sb.Append(i % 16).Append(i % w == w - 1 ? '\n' : ' ');
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>An 8-bit grayscale PNG written by hand (zlib via ZLibStream), so its chunks are known.</summary>
    public static byte[] Png(int w = 16, int h = 12, int declaredW = -1, int declaredH = -1)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < h; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < w; x++) raw.WriteByte((byte)(x * 16 + y));
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw.ToArray());
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, declaredW < 0 ? w : declaredW);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), declaredH < 0 ? h : declaredH);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 0; // grayscale
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> b4 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b4, data.Length);
        s.Write(b4);
        var td = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type).CopyTo(td, 0);
        data.CopyTo(td, 4);
        s.Write(td);
        BinaryPrimitives.WriteUInt32BigEndian(b4, Crc32(td));
        s.Write(b4);
    }

    /// <summary>CRC-32 (IEEE) as PNG chunks use it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    /// <summary>A 24-bit BMP header declaring <paramref name="w"/>x<paramref name="h"/> with only <paramref name="pixelBytes"/> bytes of pixels.</summary>
    public static byte[] Bmp(int w, int h, int pixelBytes)
    {
        var r = new byte[54 + pixelBytes];
        r[0] = (byte)'B'; r[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(2), r.Length);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(28), 24);
        return r;
    }

    /// <summary>A GIF header and image descriptor declaring <paramref name="w"/>x<paramref name="h"/>, with a tiny body.</summary>
    public static byte[] Gif(int w, int h)
    {
        var r = new List<byte>(Encoding.ASCII.GetBytes("GIF89a"));
        r.AddRange([(byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0x80, 0, 0]);
        r.AddRange([0, 0, 0, 255, 255, 255]); // 2-colour global table
        r.AddRange([0x2C, 0, 0, 0, 0, (byte)w, (byte)(w >> 8), (byte)h, (byte)(h >> 8), 0]);
        r.AddRange([2, 2, 0x4C, 0x01, 0, 0x3B]);
        return r.ToArray();
    }
}
