using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace Nabla.Data;

/// <summary>The element types an IDX file can hold; the value is the type code (third magic byte).</summary>
public enum IdxType : byte
{
    /// <summary>Unsigned byte (0x08).</summary>
    UInt8 = 0x08,
    /// <summary>Signed byte (0x09).</summary>
    Int8 = 0x09,
    /// <summary>Big-endian signed 16-bit integer (0x0B).</summary>
    Int16 = 0x0B,
    /// <summary>Big-endian signed 32-bit integer (0x0C).</summary>
    Int32 = 0x0C,
    /// <summary>Big-endian IEEE 754 single (0x0D).</summary>
    Float32 = 0x0D,
    /// <summary>Big-endian IEEE 754 double (0x0E).</summary>
    Float64 = 0x0E,
}

/// <summary>
/// The contents of an IDX file: its dimensions, element type and elements in row-major order.
/// <see cref="Data"/> is a <c>byte[]</c> for <see cref="IdxType.UInt8"/>, <c>sbyte[]</c> for Int8,
/// <c>short[]</c>, <c>int[]</c>, <c>float[]</c> or <c>double[]</c> for the others (converted from big-endian).
/// </summary>
public sealed class IdxArray
{
    private readonly int[] dims;

    /// <summary>Wraps <paramref name="data"/> (not copied); its element type must match <paramref name="type"/>
    /// and its length the product of <paramref name="dims"/>.</summary>
    public IdxArray(IdxType type, int[] dims, Array data, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        Type expected = Idx.ClrType(type);
        if (data.GetType().GetElementType() != expected)
            throw new ArgumentException($"IdxArray: type {type} needs a {expected.Name}[] but got {data.GetType().Name}.", nameof(data));
        long n = 1;
        foreach (int d in dims)
        {
            if (d <= 0) throw new ArgumentException($"IdxArray: dimensions [{string.Join(", ", dims)}] must all be at least 1.", nameof(dims));
            n *= d;
        }
        if (dims.Length == 0 || dims.Length > 255)
            throw new ArgumentException($"IdxArray: an IDX file has 1 to 255 dimensions, not {dims.Length}.", nameof(dims));
        if (n != data.Length)
            throw new ArgumentException($"IdxArray: dimensions [{string.Join(", ", dims)}] hold {n} elements but the data has {data.Length}.", nameof(data));
        ElementType = type;
        this.dims = (int[])dims.Clone();
        Data = data;
        SourcePath = sourcePath;
    }

    /// <summary>The element type.</summary>
    public IdxType ElementType { get; }

    /// <summary>The dimensions, outermost first (a copy).</summary>
    public int[] Dims => (int[])dims.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>The outermost dimension: the number of items (images, labels, …).</summary>
    public int Count => dims[0];

    /// <summary>Total number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>The elements, row-major, as an array of the element type (see the class remarks).</summary>
    public Array Data { get; }

    /// <summary>The file this array was read from, or null.</summary>
    public string? SourcePath { get; }

    /// <summary>The elements as bytes; throws unless <see cref="ElementType"/> is <see cref="IdxType.UInt8"/>.</summary>
    public byte[] GetBytes() => Data as byte[]
        ?? throw new InvalidOperationException($"{SourcePath ?? "IdxArray"}: elements are {ElementType}, not UInt8.");

    /// <summary>A new float array holding every element times <paramref name="scale"/> (e.g. 1/255 for pixels).</summary>
    public float[] ToSingleArray(float scale = 1f)
    {
        var r = new float[Data.Length];
        switch (Data)
        {
            case byte[] b:
                for (int i = 0; i < b.Length; i++) r[i] = b[i] * scale;
                break;
            case sbyte[] sb:
                for (int i = 0; i < sb.Length; i++) r[i] = sb[i] * scale;
                break;
            case short[] s:
                for (int i = 0; i < s.Length; i++) r[i] = s[i] * scale;
                break;
            case int[] n:
                for (int i = 0; i < n.Length; i++) r[i] = n[i] * scale;
                break;
            case float[] f:
                for (int i = 0; i < f.Length; i++) r[i] = f[i] * scale;
                break;
            case double[] d:
                for (int i = 0; i < d.Length; i++) r[i] = (float)(d[i] * scale);
                break;
        }
        return r;
    }

    /// <summary>A new int array holding every element (floating-point values are truncated toward zero).</summary>
    public int[] ToInt32Array()
    {
        var r = new int[Data.Length];
        switch (Data)
        {
            case byte[] b: for (int i = 0; i < b.Length; i++) r[i] = b[i]; break;
            case sbyte[] sb: for (int i = 0; i < sb.Length; i++) r[i] = sb[i]; break;
            case short[] s: for (int i = 0; i < s.Length; i++) r[i] = s[i]; break;
            case int[] n: Array.Copy(n, r, n.Length); break;
            case float[] f: for (int i = 0; i < f.Length; i++) r[i] = (int)f[i]; break;
            case double[] d: for (int i = 0; i < d.Length; i++) r[i] = (int)d[i]; break;
        }
        return r;
    }

    /// <summary>For example <c>UInt8 [10000 x 28 x 28]</c>.</summary>
    public override string ToString() => $"{ElementType} [{string.Join(" x ", dims)}]";
}

/// <summary>
/// Reads and writes IDX files, the format of MNIST, Fashion-MNIST and EMNIST: a magic number
/// <c>00 00 TT NN</c> (TT the type code, NN the number of dimensions), NN big-endian int32 dimensions,
/// then the elements in row-major order, big-endian. A file is read as gzip when it starts with the gzip
/// magic <c>1f 8b</c>, whatever its name. Malformed files raise <see cref="InvalidDataFileException"/>
/// with a message that names the file and the byte offset.
/// </summary>
public static class Idx
{
    /// <summary>Largest payload accepted, in bytes (the largest .NET array).</summary>
    public static long MaxDataBytes => Array.MaxLength;

    private const string KnownTypes = "0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double";

    /// <summary>Reads an IDX file, gzipped or raw.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The file is not a well-formed IDX file (or not a regular file).</exception>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = SafeFile.OpenRead(path, "IDX file");
        return Read(fs, path);
    }

    /// <summary>
    /// Reads an IDX stream, gzipped or raw; <paramref name="name"/> is used in error messages. The header is
    /// read and checked first; only then is a buffer made, of the size the header declares — checked against the
    /// stream's length when it is known, and grown with the data actually read otherwise (a gzip stream), so a
    /// forged header or a gzip bomb fails with little memory.
    /// </summary>
    /// <exception cref="InvalidDataFileException">The stream is not a well-formed IDX file.</exception>
    public static IdxArray Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        var (body, gz, remaining) = Open(stream, name);
        uint? gzipSize = gz ? GzipTrailerSize(stream) : null;
        try
        {
            var head = new byte[4 + 4 * 255];
            int got = ReadUpTo(body, head, 0, 4, name, gz);
            if (got == 4) got += ReadUpTo(body, head, 4, 4 * head[3], name, gz);
            long available = gz || remaining is null ? long.MaxValue : remaining.Value;
            var (type, dims, headerSize) = ParseHeader(head, got, available, name, gz, checkSize: !gz && remaining is not null);
            long elements = 1;
            foreach (int d in dims) elements *= d;
            long expected = elements * ElementSize(type);
            string shape = string.Join(" x ", dims);
            string w = Where(gz);
            if (!gz && remaining is long len)
            {
                long found = len - headerSize;
                if (found < expected)
                    throw new InvalidDataFileException(name, len,
                        $"{name}: truncated IDX file: expected {expected} data bytes ({type} [{shape}]) after the header at offset {headerSize}{w}, found {found}.", gz);
                if (found > expected)
                    throw new InvalidDataFileException(name, headerSize + expected,
                        $"{name}: size mismatch: expected {expected} data bytes ({type} [{shape}]) after the header at offset {headerSize}{w}, found {found} " +
                        $"({found - expected} extra bytes from offset {headerSize + expected}).", gz);
            }
            if (gz && remaining is long compressed && expected > compressed * MaxDeflateRatio + 4096)
                throw new InvalidDataFileException(name, 4,
                    $"{name}: the IDX header at offset 4{w} declares {type} [{shape}], {expected} data bytes, but {compressed} bytes of gzip data " +
                    $"cannot decompress to more than about {compressed * MaxDeflateRatio} bytes; the header is wrong or the file truncated.", gz);

            // The whole buffer is made at once when the size is known: a raw file's length was checked above, and a gzip
            // file whose trailer (ISIZE, the uncompressed length mod 2^32) agrees with its header, within the deflate
            // ratio checked above. Otherwise it grows with the data read (doubling 1 MiB up to 47 MB for Fashion-MNIST
            // left 79 MB of buffers behind, a third of the training process's peak memory).
            bool sizeKnown = gz ? gzipSize == (uint)(headerSize + expected) : remaining is not null;
            byte[] data = ReadBody(body, expected, headerSize, name, gz, type, shape, sizeKnown);
            long extra = CountExtra(body, name, gz, headerSize + expected);
            if (extra > 0)
                throw new InvalidDataFileException(name, headerSize + expected,
                    $"{name}: size mismatch: expected {expected} data bytes ({type} [{shape}]) after the header at offset {headerSize}{w}, found " +
                    (extra > ExtraCountCap ? $"more than {expected + ExtraCountCap} (over {ExtraCountCap} extra bytes" : $"{expected + extra} ({extra} extra bytes") +
                    $" from offset {headerSize + expected}).", gz);
            return Convert(data, type, dims, name);
        }
        finally
        {
            if (gz) body.Dispose();
        }
    }

    /// <summary>Reads only the header of an IDX file (gzipped or raw): element type and dimensions.</summary>
    /// <exception cref="InvalidDataFileException">The header is malformed.</exception>
    public static (IdxType Type, int[] Dims) ReadHeader(string path)
    {
        using var fs = SafeFile.OpenRead(path, "IDX file");
        var (s, gz, _) = Open(fs, path);
        try
        {
            var head = new byte[4 + 4 * 255];
            int got = ReadUpTo(s, head, 0, 4, path, gz);
            if (got == 4) got += ReadUpTo(s, head, 4, 4 * head[3], path, gz);
            var (type, dims, _) = ParseHeader(head, got, long.MaxValue, path, gz, checkSize: false);
            return (type, dims);
        }
        finally
        {
            if (gz) s.Dispose();
        }
    }

    /// <summary>Writes unsigned bytes as an IDX file (type 0x08), gzipped when <paramref name="gzip"/>.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="data">The elements, row-major; its length must be the product of <paramref name="dims"/>.</param>
    /// <param name="dims">The dimensions, outermost first (1 to 255 of them, each at least 1).</param>
    /// <param name="gzip">Whether to gzip the file (with no timestamp or name, so output is reproducible).</param>
    public static void Write(string path, byte[] data, int[] dims, bool gzip)
        => Write(path, new IdxArray(IdxType.UInt8, dims, data), gzip);

    /// <summary>Writes an IDX file of any element type, gzipped when <paramref name="gzip"/>.</summary>
    public static void Write(string path, IdxArray array, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(array);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        if (gzip)
        {
            using var gz = new GZipStream(fs, CompressionLevel.Optimal, leaveOpen: true);
            Write(gz, array);
        }
        else
        {
            Write(fs, array);
        }
    }

    /// <summary>Writes <paramref name="array"/> as raw (uncompressed) IDX bytes to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IdxArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        int[] dims = array.Dims;
        var header = new byte[4 + 4 * dims.Length];
        header[2] = (byte)array.ElementType;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        stream.Write(header);
        if (array.Data is byte[] b)
        {
            stream.Write(b);
            return;
        }
        int size = ElementSize(array.ElementType);
        var chunk = new byte[size * 8192];
        int n = array.Length;
        for (int start = 0; start < n; start += 8192)
        {
            int count = Math.Min(8192, n - start);
            var span = chunk.AsSpan(0, count * size);
            for (int i = 0; i < count; i++)
            {
                var dst = span.Slice(i * size, size);
                switch (array.Data)
                {
                    case sbyte[] sb: dst[0] = (byte)sb[start + i]; break;
                    case short[] s: BinaryPrimitives.WriteInt16BigEndian(dst, s[start + i]); break;
                    case int[] v: BinaryPrimitives.WriteInt32BigEndian(dst, v[start + i]); break;
                    case float[] f: BinaryPrimitives.WriteSingleBigEndian(dst, f[start + i]); break;
                    case double[] d: BinaryPrimitives.WriteDoubleBigEndian(dst, d[start + i]); break;
                }
            }
            stream.Write(span);
        }
    }

    /// <summary>Size in bytes of one element of <paramref name="type"/>.</summary>
    public static int ElementSize(IdxType type) => type switch
    {
        IdxType.UInt8 or IdxType.Int8 => 1,
        IdxType.Int16 => 2,
        IdxType.Int32 or IdxType.Float32 => 4,
        IdxType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown IDX type."),
    };

    internal static Type ClrType(IdxType type) => type switch
    {
        IdxType.UInt8 => typeof(byte),
        IdxType.Int8 => typeof(sbyte),
        IdxType.Int16 => typeof(short),
        IdxType.Int32 => typeof(int),
        IdxType.Float32 => typeof(float),
        IdxType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown IDX type."),
    };

    internal static bool IsGzip(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 16);
        return StartsWithGzipMagic(fs);
    }

    // ------------------------------------------------------------------ internals

    // deflate's largest expansion: 258 bytes from a 2-bit code (about 1032:1); a header declaring more than that
    // many bytes per compressed byte cannot be honest.
    private const long MaxDeflateRatio = 1032;

    // How many bytes past the declared end are counted (and decompressed) for the message before giving up.
    private const long ExtraCountCap = 1 << 20;

    private static bool StartsWithGzipMagic(Stream s)
    {
        if (!s.CanSeek) throw new ArgumentException("IDX: stream must be seekable to sniff the gzip magic.");
        long pos = s.Position;
        int a = s.ReadByte();
        int b = a < 0 ? -1 : s.ReadByte();
        s.Position = pos;
        return a == 0x1f && b == 0x8b;
    }

    /// <summary>The IDX bytes of <paramref name="stream"/> (decompressing when it starts with the gzip magic) and the
    /// number of stored bytes left when the stream's length is known.</summary>
    private static (Stream Body, bool Gzip, long? Remaining) Open(Stream stream, string name)
    {
        var sniff = new byte[2];
        int got = ReadUpTo(stream, sniff, 0, 2, name, false);
        long? remaining = stream.CanSeek ? stream.Length - stream.Position + got : null;
        Stream body = new PrefixedStream(sniff.AsMemory(0, got), stream);
        bool gz = got == 2 && sniff[0] == 0x1f && sniff[1] == 0x8b;
        if (gz) body = new GZipStream(body, CompressionMode.Decompress, leaveOpen: false);
        return (body, gz, remaining);
    }

    /// <summary>The last four bytes of a seekable gzip stream (ISIZE: its uncompressed length mod 2^32, little-endian),
    /// or null when the stream cannot seek or is too short; the position is left where it was.</summary>
    private static uint? GzipTrailerSize(Stream stream)
    {
        if (!stream.CanSeek) return null;
        long pos = stream.Position;
        if (stream.Length < 18) return null; // header 10 + trailer 8 bytes at least
        try
        {
            Span<byte> t = stackalloc byte[4];
            stream.Position = stream.Length - 4;
            stream.ReadExactly(t);
            return BinaryPrimitives.ReadUInt32LittleEndian(t);
        }
        catch (IOException)
        {
            return null;
        }
        finally
        {
            stream.Position = pos;
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, growing the buffer with the data actually read (so a header
    /// that declares more than the stream holds costs only what is there).</summary>
    private static byte[] ReadBody(Stream s, long count, long headerSize, string name, bool gz, IdxType type, string shape, bool sizeKnown)
    {
        int capacity = (int)(sizeKnown ? count : Math.Min(count, 1 << 20));
        var buf = new byte[capacity];
        long total = 0;
        while (total < count)
        {
            if (total == buf.Length)
            {
                var bigger = new byte[(int)Math.Min(count, (long)buf.Length * 2)];
                Buffer.BlockCopy(buf, 0, bigger, 0, buf.Length);
                buf = bigger;
            }
            int want = buf.Length - (int)total;
            int n = ReadUpTo(s, buf, (int)total, want, name, gz, headerSize);
            total += n;
            if (n < want) break; // ReadUpTo stops short only at the end of the stream
        }
        if (total < count)
            throw new InvalidDataFileException(name, headerSize + total,
                $"{name}: truncated IDX file: expected {count} data bytes ({type} [{shape}]) after the header at offset {headerSize}{Where(gz)}, found {total}.", gz);
        return buf;
    }

    private static long CountExtra(Stream s, string name, bool gz, long offset)
    {
        var chunk = new byte[1 << 16];
        long extra = 0;
        while (extra <= ExtraCountCap)
        {
            int n = ReadUpTo(s, chunk, 0, chunk.Length, name, gz, offset + extra);
            if (n == 0) break;
            extra += n;
        }
        return extra;
    }

    private static int ReadUpTo(Stream s, byte[] buf, int offset, int count, string name, bool gz, long baseOffset = 0)
    {
        int total = 0;
        try
        {
            while (total < count)
            {
                int n = s.Read(buf, offset + total, count - total);
                if (n == 0) break;
                total += n;
            }
        }
        catch (InvalidDataException e)
        {
            long at = baseOffset + offset + total;
            throw new InvalidDataFileException(name, at,
                $"{name}: unreadable gzip data (the file starts with the gzip magic 1f 8b): {e.Message} " +
                $"(failed at offset {at} of the decompressed data).", compressed: true, e);
        }
        return total;
    }

    private static string Where(bool gz) => gz ? " of the decompressed gzip data" : "";

    private static (IdxType Type, int[] Dims, long HeaderSize) ParseHeader(byte[] bytes, int length, long available, string name, bool gz, bool checkSize)
    {
        string w = Where(gz);
        if (length < 4)
        {
            string found = length == 0 ? "the file is empty" : $"found only {length} byte{(length == 1 ? "" : "s")}";
            throw new InvalidDataFileException(name, length,
                $"{name}: truncated IDX header: expected a 4-byte magic number at offset 0{w}, {found}" + (gz ? " after decompression." : "."), gz);
        }
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataFileException(name, 0,
                $"{name}: not an IDX file: the first two bytes at offset 0{w} must be 00 00, found {bytes[0]:X2} {bytes[1]:X2}" +
                $"{DescribeMagic(bytes, length)}.", gz);
        byte code = bytes[2];
        if (!Enum.IsDefined(typeof(IdxType), code))
            throw new InvalidDataFileException(name, 2,
                $"{name}: unknown IDX type code 0x{code:X2} at offset 2{w} (known: {KnownTypes}).", gz);
        var type = (IdxType)code;
        int rank = bytes[3];
        if (rank == 0)
            throw new InvalidDataFileException(name, 3,
                $"{name}: IDX header declares 0 dimensions at offset 3{w}; at least 1 is needed.", gz);
        long headerSize = 4 + 4L * rank;
        if (length < headerSize)
            throw new InvalidDataFileException(name, length,
                $"{name}: truncated IDX header: {rank} dimension{(rank == 1 ? "" : "s")} need a {headerSize}-byte header, " +
                $"found only {length} bytes{w} (offset {length}).", gz);
        var dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            int off = 4 + 4 * i;
            uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(off, 4));
            if (d == 0 || d > int.MaxValue)
                throw new InvalidDataFileException(name, off,
                    $"{name}: dimension {i} at offset {off}{w} is {(d == 0 ? "0" : ((int)d).ToString(CultureInfo.InvariantCulture) + $" (0x{d:X8})")}; " +
                    "every dimension must be at least 1.", gz);
            dims[i] = (int)d;
            elements *= d;
            if (elements * ElementSize(type) > MaxDataBytes)
                throw new InvalidDataFileException(name, off,
                    $"{name}: absurd dimensions [{string.Join(" x ", dims.Take(i + 1))}{(i + 1 < rank ? " x ..." : "")}] at offset 4{w}: " +
                    $"more than {MaxDataBytes} bytes of {type} data" + (checkSize ? $", while the file holds {available} bytes{w}." : "."), gz);
        }
        return (type, dims, headerSize);
    }

    private static string DescribeMagic(byte[] bytes, int length)
    {
        // Hints for common mistakes: a zip archive, text, a little-endian header.
        if (bytes[0] == 0x50 && bytes[1] == 0x4B) return " (\"PK\": a zip archive, unpack it first)";
        if (length >= 4 && bytes[2] == 0 && bytes[3] == 0 && bytes[1] is >= 0x08 and <= 0x0E && bytes[0] is >= 1 and <= 4)
            return " (looks like a little-endian header; IDX is big-endian)";
        if (bytes[0] is >= 0x20 and < 0x7f && bytes[1] is >= 0x20 and < 0x7f) return $" (text \"{(char)bytes[0]}{(char)bytes[1]}\"?)";
        return "";
    }

    private static IdxArray Convert(byte[] bytes, IdxType type, int[] dims, string name)
    {
        long elements = 1;
        foreach (int d in dims) elements *= d;
        int n = (int)elements;
        var src = bytes.AsSpan(0, n * ElementSize(type));
        Array data;
        switch (type)
        {
            case IdxType.UInt8:
                data = bytes; // read to exactly the declared size: no copy
                break;
            case IdxType.Int8:
            {
                var a = new sbyte[n];
                src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
                data = a;
                break;
            }
            case IdxType.Int16:
            {
                var a = new short[n];
                for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadInt16BigEndian(src.Slice(2 * i));
                data = a;
                break;
            }
            case IdxType.Int32:
            {
                var a = new int[n];
                for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadInt32BigEndian(src.Slice(4 * i));
                data = a;
                break;
            }
            case IdxType.Float32:
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadSingleBigEndian(src.Slice(4 * i));
                data = a;
                break;
            }
            default:
            {
                var a = new double[n];
                for (int i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadDoubleBigEndian(src.Slice(8 * i));
                data = a;
                break;
            }
        }
        return new IdxArray(type, dims, data, name);
    }
}

/// <summary>A read-only stream that yields <c>prefix</c> (bytes already read from <c>inner</c> to sniff them) and then
/// the rest of <c>inner</c>.</summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
{
    private ReadOnlyMemory<byte> prefix = prefix;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (prefix.Length > 0)
        {
            int n = Math.Min(prefix.Length, buffer.Length);
            prefix.Span[..n].CopyTo(buffer);
            prefix = prefix[n..];
            return n;
        }
        return inner.Read(buffer);
    }
}
