using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nabla.Data;

namespace Nabla.Serialization;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw little-endian data), which
/// PyTorch, JAX and others read. Files are written atomically: to a temporary file in the same
/// folder, then renamed over the target, so a crash never leaves a half-written file.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeader = 100L * 1024 * 1024;

    /// <summary>Writes <paramref name="tensors"/> (float32) and string <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var (name, t) in ordered)
        {
            if (name == "__metadata__") throw new ArgumentException("SafeTensors: '__metadata__' is reserved and cannot name a tensor.");
            long bytes = (long)t.Length * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
        int padded = (headerBytes.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, t) in ordered)
            {
                if (BitConverter.IsLittleEndian) stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Data));
                else foreach (float v in t.Data) { var b = BitConverter.GetBytes(v); Array.Reverse(b); stream.Write(b); }
            }
        });
    }

    /// <summary>Reads every tensor and the metadata of a safetensors file, checking its structure.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataFileException(path, 0, $"file is {bytes.Length} bytes long; a safetensors file starts with an 8-byte header length.");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)Math.Min(MaxHeader, bytes.Length - 8))
            throw new InvalidDataFileException(path, 0, $"header length {headerLen} exceeds the file ({bytes.Length} bytes); not a safetensors file or truncated.");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLen))?.AsObject()
                ?? throw new InvalidDataFileException(path, 8, "header is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataFileException(path, 8, $"header is not valid JSON: {e.Message}");
        }
        long dataStart = 8 + (long)headerLen, dataLen = bytes.Length - dataStart;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.GetValue<string>() ?? "";
                continue;
            }
            var o = node as JsonObject ?? throw new InvalidDataFileException(path, 8, $"entry '{name}' is not an object.");
            string dtype = o["dtype"]?.GetValue<string>() ?? throw new InvalidDataFileException(path, 8, $"tensor '{name}' has no dtype.");
            var shape = o["shape"]?.AsArray().Select(d => d!.GetValue<int>()).ToArray() ?? throw new InvalidDataFileException(path, 8, $"tensor '{name}' has no shape.");
            var offs = o["data_offsets"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (offs is not { Length: 2 } || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen)
                throw new InvalidDataFileException(path, dataStart, $"tensor '{name}' has data offsets outside the {dataLen} data bytes.");
            if (shape.Any(d => d < 0)) throw new InvalidDataFileException(path, 8, $"tensor '{name}' has a negative dimension.");
            long count = shape.Aggregate(1L, (a, d) => a * d);
            int size = dtype switch { "F32" => 4, "F64" => 8, "F16" => 2, "BF16" => 2, _ => throw new InvalidDataFileException(path, 8, $"tensor '{name}' has dtype {dtype}; Nabla reads F32, F64, F16 and BF16.") };
            if (count * size != offs[1] - offs[0])
                throw new InvalidDataFileException(path, dataStart + offs[0], $"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {count * size} bytes of {dtype}, the offsets give {offs[1] - offs[0]}.");
            var values = new float[count];
            var src = bytes.AsSpan((int)(dataStart + offs[0]), (int)(offs[1] - offs[0]));
            for (int i = 0; i < count; i++)
                values[i] = dtype switch
                {
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4)),
                    "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src.Slice(i * 8)),
                    "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(src.Slice(i * 2)),
                    _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2)) << 16),
                };
            tensors[name] = new Tensor(values, new Shape(shape));
        }
        return (tensors, metadata);
    }
}

/// <summary>Writes files atomically: temporary file in the target's folder, flushed, then renamed over the target.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on failure the old file (if any) is untouched.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
