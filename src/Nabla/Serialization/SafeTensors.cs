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

    /// <summary>
    /// Reads every tensor and the metadata of a safetensors file, checking it by the format's rules before
    /// anything is allocated: the header length (at most 100 MB and within the file), a JSON object with unique
    /// keys, string metadata, each tensor's dtype, shape (non-negative, no overflow) and byte range
    /// (<c>end − begin</c> = elements × dtype size), and byte ranges that tile the data buffer exactly — no
    /// gap, no overlap, nothing after the last. Non-finite weights (NaN, ±∞) are refused unless
    /// <paramref name="allowNonFinite"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The file breaks a rule; the message names the offset or key, what was expected and what was found.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, bool allowNonFinite = false)
    {
        using var fs = SafeFile.OpenRead(path, "safetensors file");
        long fileLength = fs.Length;
        if (fileLength < 8)
            throw Bad(path, 0, $"the file is {fileLength} bytes long; a safetensors file starts with an 8-byte header length.");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen > MaxHeader)
            throw Bad(path, 0, $"header length {headerLen} at offset 0 is more than the {MaxHeader} bytes safetensors allows; not a safetensors file?");
        if (headerLen > (ulong)(fileLength - 8))
            throw Bad(path, 0, $"header length {headerLen} at offset 0 runs past the end of the file ({fileLength} bytes, so at most {fileLength - 8}); truncated or not a safetensors file.");
        if (headerLen < 2)
            throw Bad(path, 0, $"header length {headerLen} at offset 0 is too small for a JSON object.");
        var headerBytes = new byte[headerLen];
        fs.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLen, dataLen = fileLength - dataStart;

        var (entries, metadata) = ParseHeader(path, headerBytes);
        // Byte ranges must tile [0, dataLen) exactly, as the reference implementation requires.
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        long expect = 0;
        foreach (var e in ordered)
        {
            if (e.Begin != expect)
                throw Bad(path, dataStart + Math.Min(e.Begin, expect), e.Begin > expect
                    ? $"tensor '{e.Name}': data_offsets start at {e.Begin}, expected {expect}: a gap of {e.Begin - expect} bytes in the data buffer."
                    : $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap the previous tensor, which ends at {expect}.");
            expect = e.End;
        }
        if (expect != dataLen)
            throw Bad(path, dataStart + Math.Min(expect, dataLen), expect > dataLen
                ? $"the tensors need {expect} data bytes after the header (offset {dataStart}) but the file holds {dataLen}; truncated."
                : $"the tensors cover {expect} data bytes but the file holds {dataLen} after the header (offset {dataStart}): {dataLen - expect} bytes belong to no tensor.");
        if (fs.Position != dataStart) fs.Position = dataStart;

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var chunk = new byte[1 << 16];
        foreach (var e in ordered)
        {
            var values = new float[e.Count];
            int size = e.ElementSize, perChunk = chunk.Length / size;
            for (long done = 0; done < e.Count;)
            {
                int n = (int)Math.Min(perChunk, e.Count - done);
                var src = chunk.AsSpan(0, n * size);
                fs.ReadExactly(src);
                for (int i = 0; i < n; i++)
                {
                    float v = e.DType switch
                    {
                        "F32" => BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4)),
                        "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src.Slice(i * 8)),
                        "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(src.Slice(i * 2)),
                        _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2)) << 16),
                    };
                    if (!allowNonFinite && !float.IsFinite(v))
                    {
                        long index = done + i;
                        throw Bad(path, dataStart + e.Begin + index * size,
                            $"tensor '{e.Name}' element {index} (byte offset {dataStart + e.Begin + index * size}) is {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}; " +
                            "expected finite weights (load with allowNonFinite to accept them).");
                    }
                    values[done + i] = v;
                }
                done += n;
            }
            tensors[e.Name] = new Tensor(values, new Shape(e.Shape));
        }
        SafeFile.EnsureEnd(fs, path, "safetensors file", fileLength);
        return (tensors, metadata);
    }

    private static InvalidDataFileException Bad(string path, long offset, string message) => new(path, offset, $"{path}: {message}");

    private sealed record Entry(string Name, string DType, int ElementSize, int[] Shape, long Count, long Begin, long End);

    /// <summary>The data types Nabla reads, with their sizes in bytes.</summary>
    private static int DTypeSize(string dtype) => dtype switch { "F32" => 4, "F64" => 8, "F16" => 2, "BF16" => 2, _ => 0 };

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(string path, byte[] headerBytes)
    {
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes); }
        catch (DecoderFallbackException e) { throw Bad(path, 8 + e.Index, $"the header is not valid UTF-8 (byte {8 + e.Index})."); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text.TrimEnd(' '), new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e) { throw Bad(path, 8 + (e.BytePositionInLine ?? 0), $"the header at offset 8 is not valid JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Bad(path, 8, $"the header at offset 8 must be a JSON object, found {doc.RootElement.ValueKind}.");
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            string name = prop.Name;
            if (!seen.Add(name)) throw Bad(path, 8, $"the header names '{name}' twice.");
            if (name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object)
                    throw Bad(path, 8, $"'__metadata__' must be an object of strings, found {prop.Value.ValueKind}.");
                foreach (var m in prop.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String)
                        throw Bad(path, 8, $"metadata '{m.Name}' must be a string, found {m.Value.ValueKind}.");
                    if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(path, 8, $"metadata '{m.Name}' appears twice.");
                }
                continue;
            }
            var o = prop.Value;
            if (o.ValueKind != JsonValueKind.Object) throw Bad(path, 8, $"tensor '{name}' must be an object with dtype, shape and data_offsets, found {o.ValueKind}.");
            if (!o.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
                throw Bad(path, 8, $"tensor '{name}': expected a string 'dtype', found {(o.TryGetProperty("dtype", out var d2) ? d2.ValueKind.ToString() : "none")}.");
            string dtype = dt.GetString()!;
            int size = DTypeSize(dtype);
            if (size == 0) throw Bad(path, 8, $"tensor '{name}' has dtype '{dtype}'; expected F32, F64, F16 or BF16.");
            if (!o.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
                throw Bad(path, 8, $"tensor '{name}': expected a 'shape' array, found {(o.TryGetProperty("shape", out var s2) ? s2.ValueKind.ToString() : "none")}.");
            int rank = sh.GetArrayLength();
            if (rank > 16) throw Bad(path, 8, $"tensor '{name}' has {rank} dimensions; at most 16 are accepted.");
            var shape = new int[rank];
            long count = 1;
            int k = 0;
            foreach (var dim in sh.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long dv) || dv < 0 || dv > int.MaxValue)
                    throw Bad(path, 8, $"tensor '{name}': shape[{k}] must be a whole number from 0 to {int.MaxValue}, found {dim.GetRawText()}.");
                shape[k++] = (int)dv;
                count = dv == 0 ? 0 : count > Array.MaxLength / dv ? long.MaxValue : count * dv;
            }
            if (count > Array.MaxLength)
                throw Bad(path, 8, $"tensor '{name}' of shape [{string.Join(", ", shape)}] has more than {Array.MaxLength} elements.");
            if (!o.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw Bad(path, 8, $"tensor '{name}': expected 'data_offsets' [begin, end], found {(o.TryGetProperty("data_offsets", out var o2) ? o2.GetRawText() : "none")}.");
            long begin = Offset(path, name, off[0], "begin"), end = Offset(path, name, off[1], "end");
            if (end < begin) throw Bad(path, 8, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin.");
            if (count * size != end - begin)
                throw Bad(path, 8, $"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {count * size} bytes of {dtype}; its data_offsets [{begin}, {end}] give {end - begin}.");
            entries.Add(new Entry(name, dtype, size, shape, count, begin, end));
        }
        return (entries, metadata);
    }

    private static long Offset(string path, string name, JsonElement e, string which)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw Bad(path, 8, $"tensor '{name}': data_offsets {which} must be a non-negative whole number, found {e.GetRawText()}.");
        return v;
    }
}

/// <summary>Writes files atomically: temporary file in the target's folder, flushed, then renamed over the target.</summary>
public static class AtomicFile
{
    private static readonly int PauseMs =
        int.TryParse(Environment.GetEnvironmentVariable("NABLA_ATOMIC_WRITE_PAUSE_MS"), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int ms) ? Math.Min(ms, 10_000) : 0;

    // Test aid (NABLA_ATOMIC_WRITE_KILL_AT=N or N+): the process kills itself (SIGKILL, no clean-up) in its Nth
    // atomic write, with the temporary file written but not yet renamed (N), or just after the rename (N+), so
    // that tests can interrupt a run at every point where what it leaves on disk differs, by construction.
    private static readonly (int Write, bool AfterRename) KillAt = ParseKillAt(Environment.GetEnvironmentVariable("NABLA_ATOMIC_WRITE_KILL_AT"));
    private static int writes;

    private static (int, bool) ParseKillAt(string? s)
    {
        if (string.IsNullOrEmpty(s)) return (0, false);
        bool after = s.EndsWith('+');
        return int.TryParse(after ? s[..^1] : s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? (n, after) : (0, false);
    }

    private static void KillHere() => System.Diagnostics.Process.GetCurrentProcess().Kill();

    /// <summary>
    /// Deletes the temporary files that writers of <paramref name="path"/> killed mid-write left beside it
    /// (.NAME.PID.GUID.tmp), skipping those of processes still running; returns how many were deleted.
    /// </summary>
    public static int DeleteStaleTemporaries(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return 0;
        string prefix = "." + Path.GetFileName(full) + ".";
        int removed = 0;
        foreach (var f in Directory.EnumerateFiles(dir, prefix + "*.tmp"))
        {
            string[] rest = Path.GetFileName(f)[prefix.Length..].Split('.');
            if (rest.Length != 3 || !int.TryParse(rest[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            try { File.Delete(f); removed++; }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on failure the old file (if any) is untouched.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        bool kill = KillAt.Write > 0 && Interlocked.Increment(ref writes) == KillAt.Write;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
                // Test aid (NABLA_ATOMIC_WRITE_PAUSE_MS): holds the written temporary file open before the rename,
                // so that tests can kill a process in the middle of a write.
                if (PauseMs > 0) Thread.Sleep(PauseMs);
                if (kill && !KillAt.AfterRename) KillHere();
            }
            File.Move(tmp, full, overwrite: true);
            if (kill && KillAt.AfterRename) KillHere();
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
