using System.Buffers.Binary;
using System.IO.Compression;
using Nabla.Data;

namespace Nabla.Tests.Data;

public class IdxTests
{
    private static byte[] Header(byte type, params int[] dims)
    {
        var h = new byte[4 + 4 * dims.Length];
        h[2] = type;
        h[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + 4 * i), dims[i]);
        return h;
    }

    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    private static InvalidDataFileException ReadBad(TempDir t, string name, byte[] content)
    {
        string p = t.File(name);
        File.WriteAllBytes(p, content);
        var e = Assert.Throws<InvalidDataFileException>(() => Idx.Read(p));
        Assert.Equal(p, e.Path);
        Assert.Contains(p, e.Message);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteThenRead_UInt8_RoundTrips(bool gzip)
    {
        using var t = new TempDir();
        var data = new byte[3 * 4 * 5];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7 + 3);
        string p = t.File(gzip ? "x.idx3-ubyte.gz" : "x.idx3-ubyte");
        Idx.Write(p, data, new[] { 3, 4, 5 }, gzip);

        var bytes = File.ReadAllBytes(p);
        Assert.Equal(gzip, bytes[0] == 0x1f && bytes[1] == 0x8b);
        if (!gzip)
        {
            Assert.Equal(new byte[] { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5 }, bytes[..16]);
            Assert.Equal(16 + data.Length, bytes.Length);
        }

        var a = Idx.Read(p);
        Assert.Equal(IdxType.UInt8, a.ElementType);
        Assert.Equal(new[] { 3, 4, 5 }, a.Dims);
        Assert.Equal(3, a.Count);
        Assert.Equal(data, a.GetBytes());
        var (type, dims) = Idx.ReadHeader(p);
        Assert.Equal(IdxType.UInt8, type);
        Assert.Equal(new[] { 3, 4, 5 }, dims);
    }

    [Fact]
    public void Gzip_IsDetectedByContent_NotByName()
    {
        using var t = new TempDir();
        var data = new byte[] { 1, 2, 3, 250 };
        string gzNoExt = t.File("labels-idx1-ubyte");
        Idx.Write(gzNoExt, data, new[] { 4 }, gzip: true);
        string rawWithGz = t.File("raw.gz");
        Idx.Write(rawWithGz, data, new[] { 4 }, gzip: false);
        Assert.Equal(data, Idx.Read(gzNoExt).GetBytes());
        Assert.Equal(data, Idx.Read(rawWithGz).GetBytes());
    }

    [Fact]
    public void GzipOutput_IsReproducible()
    {
        using var t = new TempDir();
        var data = new byte[1000];
        new Random(5).NextBytes(data);
        Idx.Write(t.File("a.gz"), data, new[] { 10, 100 }, true);
        Thread.Sleep(1100);
        Idx.Write(t.File("b.gz"), data, new[] { 10, 100 }, true);
        Assert.Equal(File.ReadAllBytes(t.File("a.gz")), File.ReadAllBytes(t.File("b.gz")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AllTypes_RoundTrip_BigEndian(bool gzip)
    {
        using var t = new TempDir();
        var arrays = new IdxArray[]
        {
            new(IdxType.Int8, new[] { 2, 2 }, new sbyte[] { -128, -1, 0, 127 }),
            new(IdxType.Int16, new[] { 3 }, new short[] { short.MinValue, -2, 12345 }),
            new(IdxType.Int32, new[] { 1, 3 }, new[] { int.MinValue, 7, int.MaxValue }),
            new(IdxType.Float32, new[] { 2 }, new[] { -1.5f, 3.25e-7f }),
            new(IdxType.Float64, new[] { 2, 1, 1 }, new[] { Math.PI, -1e300 }),
        };
        foreach (var a in arrays)
        {
            string p = t.File(a.ElementType + ".idx");
            Idx.Write(p, a, gzip);
            var b = Idx.Read(p);
            Assert.Equal(a.ElementType, b.ElementType);
            Assert.Equal(a.Dims, b.Dims);
            Assert.Equal(a.Data, b.Data);
        }
        // Big-endian on disk: a raw int16 file holds 0x30 0x39 for 12345.
        string raw = t.File("i16.raw");
        Idx.Write(raw, arrays[1], gzip: false);
        var bytes = File.ReadAllBytes(raw);
        Assert.Equal(0x0B, bytes[2]);
        Assert.Equal(new byte[] { 0x30, 0x39 }, bytes[^2..]);
        Assert.Equal(new[] { -32768f, -2f, 12345f }, Idx.Read(raw).ToSingleArray());
    }

    [Fact]
    public void HandWrittenFloatFile_IsReadBigEndian()
    {
        using var t = new TempDir();
        var h = Header(0x0D, 2);
        var d = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(d, 1.0f);
        BinaryPrimitives.WriteSingleBigEndian(d.AsSpan(4), -2.5f);
        string p = t.File("f.idx");
        File.WriteAllBytes(p, [.. h, .. d]);
        Assert.Equal(new[] { 1.0f, -2.5f }, (float[])Idx.Read(p).Data);
    }

    [Fact]
    public void WrongMagic_IsRejected_WithFoundBytes()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "bad-magic", [0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]);
        Assert.Equal(0, e.Offset);
        Assert.Contains("not an IDX file: the first two bytes at offset 0 must be 00 00, found 12 34", e.Message);
    }

    [Fact]
    public void ZipArchive_GetsAHint()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "x.zip", [0x50, 0x4B, 3, 4, 0, 0, 0, 0]);
        Assert.Contains("found 50 4B", e.Message);
        Assert.Contains("zip archive", e.Message);
    }

    [Fact]
    public void UnknownTypeCode_IsRejected()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "type", [0, 0, 0x07, 1, 0, 0, 0, 1, 9]);
        Assert.Equal(2, e.Offset);
        Assert.Contains("unknown IDX type code 0x07 at offset 2", e.Message);
        Assert.Contains("0x08 ubyte", e.Message);
    }

    [Fact]
    public void Truncated_IsRejected_WithExpectedAndFoundCounts()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "trunc", [.. Header(0x08, 2, 28, 28), .. new byte[700]]);
        Assert.Contains("truncated IDX file: expected 1568 data bytes (UInt8 [2 x 28 x 28]) after the header at offset 16, found 700.", e.Message);
        Assert.Equal(16 + 700, e.Offset);
        Assert.False(e.Compressed);
    }

    [Fact]
    public void TruncatedInsideGzip_IsRejected_AndSaysDecompressed()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "trunc.gz", Gzip([.. Header(0x08, 3), 1, 2]));
        Assert.True(e.Compressed);
        Assert.Contains("expected 3 data bytes (UInt8 [3]) after the header at offset 8 of the decompressed gzip data, found 2.", e.Message);
    }

    [Fact]
    public void TrailingBytes_AreASizeMismatch()
    {
        using var t = new TempDir();
        var e = ReadBad(t, "long", [.. Header(0x08, 4), 1, 2, 3, 4, 5, 6]);
        Assert.Contains("size mismatch: expected 4 data bytes (UInt8 [4]) after the header at offset 8, found 6 (2 extra bytes from offset 12).", e.Message);
        Assert.Equal(12, e.Offset);
    }

    [Fact]
    public void TruncatedHeader_IsRejected()
    {
        using var t = new TempDir();
        Assert.Contains("the file is empty", ReadBad(t, "empty", []).Message);
        var e = ReadBad(t, "short", [0, 0, 8, 3, 0, 0, 0, 1, 0]);
        Assert.Contains("truncated IDX header: 3 dimensions need a 16-byte header, found only 9 bytes (offset 9)", e.Message);
    }

    [Fact]
    public void ZeroNegativeAndAbsurdDimensions_AreRejected()
    {
        using var t = new TempDir();
        var zero = ReadBad(t, "zero", [.. Header(0x08, 5, 0), 1]);
        Assert.Equal(8, zero.Offset);
        Assert.Contains("dimension 1 at offset 8 is 0; every dimension must be at least 1", zero.Message);

        var neg = ReadBad(t, "neg", [.. Header(0x08, -3)]);
        Assert.Contains("dimension 0 at offset 4 is -3 (0xFFFFFFFD)", neg.Message);

        var big = ReadBad(t, "big", [.. Header(0x0E, 100000, 100000), 1, 2]);
        Assert.Contains("absurd dimensions [100000 x 100000]", big.Message);
        Assert.Contains("while the file holds 14 bytes", big.Message);

        var norank = ReadBad(t, "rank0", [0, 0, 8, 0]);
        Assert.Contains("declares 0 dimensions at offset 3", norank.Message);
    }

    [Fact]
    public void Gzip_WithTrailerThatAgrees_IsReadIntoOneBuffer()
    {
        using var t = new TempDir();
        var data = new byte[3_000_000];
        new Random(4).NextBytes(data.AsSpan(0, 1000));
        string p = t.File("big.gz");
        File.WriteAllBytes(p, Gzip([.. Header(0x08, 3000, 1000), .. data]));
        Idx.Read(p); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        var a = Idx.Read(p);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(data, a.GetBytes());
        // Growing from 1 MiB by doubling allocated 1 + 2 + 3 MB; one buffer of the declared size is 3 MB.
        Assert.InRange(allocated, 3_000_000, 3_300_000);
    }

    [Fact]
    public void Gzip_WithTrailerThatDisagrees_StillReadsOrFailsCleanly()
    {
        using var t = new TempDir();
        var payload = new byte[5000];
        new Random(5).NextBytes(payload);
        // Two gzip members: the trailer's ISIZE is only the last member's, so the size is not trusted and the
        // buffer grows with the data; the contents are still all read.
        byte[] first = Gzip([.. Header(0x08, 5000), .. payload.AsSpan(0, 3000)]);
        byte[] second = Gzip(payload[3000..]);
        string p = t.File("two-members.gz");
        File.WriteAllBytes(p, [.. first, .. second]);
        Assert.Equal(payload, Idx.Read(p).GetBytes());

        // A forged trailer that agrees with a header declaring more than the data: one buffer, then a clean error
        // (zlib checks the trailer against the data it decompressed).
        byte[] forged = Gzip([.. Header(0x08, 4000), .. payload.AsSpan(0, 100)]);
        BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(forged.Length - 4), 8 + 4000);
        var e = ReadBad(t, "forged.gz", forged);
        Assert.True(e.Compressed);
        Assert.Contains("unreadable gzip data", e.Message);
    }

    [Fact]
    public void GzipGarbage_IsRejected()
    {
        using var t = new TempDir();
        var header = ReadBad(t, "garbage.gz", [0x1f, 0x8b, 0xff, 0x13, 0x37, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.Contains("unreadable gzip data", header.Message);
        Assert.True(header.Compressed);

        var good = Gzip([.. Header(0x08, 2000), .. new byte[2000]]);
        var body = (byte[])good.Clone();
        for (int i = 10; i < body.Length - 8; i++) body[i] ^= 0x5A;
        var e = Assert.Throws<InvalidDataFileException>(() => Idx.Read(new MemoryStream(body), "corrupt-body.gz"));
        Assert.Contains("corrupt-body.gz", e.Message);
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void MissingFile_IsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => Idx.Read(Path.Combine(Path.GetTempPath(), "no-such-file-" + Guid.NewGuid())));
    }

    [Fact]
    public void Write_RejectsWrongLength()
    {
        using var t = new TempDir();
        Assert.Throws<ArgumentException>(() => Idx.Write(t.File("x"), new byte[5], new[] { 2, 3 }, false));
        Assert.Throws<ArgumentException>(() => Idx.Write(t.File("x"), new byte[0], new[] { 0 }, false));
    }
}
