using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Serialization;
using Nabla.Tests.Cli;
using Nabla.Tests.Data;

namespace Nabla.Tests.Fuzz;

/// <summary>
/// One targeted case for every class of hostile input the robustness review found: each must fail with the
/// library's format exception (or exit code 2 in the tool) naming the file and what was wrong, after
/// allocating little.
/// </summary>
public class HostileInputTests
{
    private static long Allocated(Action a)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        a();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static InvalidDataFileException Fails(Action a, long maxAllocated, params string[] mentions)
    {
        InvalidDataFileException? caught = null;
        long used = Allocated(() => caught = Assert.Throws<InvalidDataFileException>(a));
        foreach (var m in mentions) Assert.True(caught!.Message.Contains(m, StringComparison.Ordinal), $"expected \"{m}\" in: {caught.Message}");
        Assert.True(used <= maxAllocated, $"allocated {used} bytes (limit {maxAllocated}) before failing with: {caught!.Message}");
        return caught!;
    }

    // ------------------------------------------------------------------ IDX and gzip

    [Fact]
    public void Gzip_bomb_behind_a_valid_header_fails_after_the_declared_size_with_little_memory()
    {
        using var t = new TempDir();
        string p = t.File("bomb-idx3-ubyte.gz");
        using (var fs = File.Create(p))
        using (var gz = new GZipStream(fs, CompressionLevel.SmallestSize))
        {
            gz.Write(new byte[] { 0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28 });
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) gz.Write(zeros); // 64 MiB of zeros in ~64 KB
        }
        Assert.True(new FileInfo(p).Length < 200_000);
        Fails(() => Idx.Read(p), 4 << 20, p, "size mismatch", "expected 7840 data bytes");
    }

    [Fact]
    public void Gzip_bomb_of_zeros_fails_at_the_magic()
    {
        using var t = new TempDir();
        string p = t.File("zeros.gz");
        File.WriteAllBytes(p, FuzzFiles.Gzip(new byte[16 << 20]));
        Fails(() => Idx.Read(p), 1 << 20, "unknown IDX type code 0x00 at offset 2");
    }

    [Fact]
    public void Header_declaring_a_gigabyte_in_a_tiny_raw_file_fails_before_allocating()
    {
        using var t = new TempDir();
        string p = t.File("forged-idx3-ubyte");
        File.WriteAllBytes(p, [0, 0, 8, 3, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0x40, 1, 2, 3]);
        Fails(() => Idx.Read(p), 1 << 20, "truncated IDX file", "found 3");
    }

    [Fact]
    public void Gzip_header_declaring_more_than_deflate_can_hold_fails_before_allocating()
    {
        using var t = new TempDir();
        string p = t.File("forged.gz");
        File.WriteAllBytes(p, FuzzFiles.Gzip([0, 0, 8, 3, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0x40, 1, 2, 3]));
        Fails(() => Idx.Read(p), 1 << 20, "cannot decompress to more than");
    }

    [Fact]
    public void Gzip_header_with_too_little_data_costs_only_the_data()
    {
        // 1 MiB declared, 40 KB present: the buffer grows with what arrives, not with what the header says.
        var raw = new byte[16 + 40_000];
        new byte[] { 0, 0, 8, 3, 0, 0, 0x04, 0, 0, 0, 0x0, 0x10, 0, 0, 0, 0x10 }.CopyTo(raw, 0);
        new Random(5).NextBytes(raw.AsSpan(16));
        var gz = FuzzFiles.Gzip(raw);
        Fails(() => Idx.Read(new MemoryStream(gz), "short.gz"), 3 << 20, "truncated IDX file", "found 40000");
    }

    // ------------------------------------------------------------------ special files and paths

    [Fact]
    public void Character_devices_and_fifos_are_refused_without_reading()
    {
        if (OperatingSystem.IsWindows()) return;
        Fails(() => Idx.Read("/dev/zero"), 1 << 20, "character device");
        Fails(() => SafeTensors.Load("/dev/urandom"), 1 << 20, "character device");
        using var t = new TempDir();
        string fifo = t.File("fifo");
        using (var mk = Process.Start(new ProcessStartInfo("mkfifo", fifo) { UseShellExecute = false }))
        {
            if (mk is null) return;
            mk.WaitForExit();
            if (mk.ExitCode != 0) return;
        }
        Fails(() => SafeTensors.Load(fifo), 1 << 20, "FIFO");
        Fails(() => Idx.Read(fifo), 1 << 20, "FIFO");
    }

    [Fact]
    public void Empty_paths_are_refused()
    {
        Fails(() => Idx.Read(""), 1 << 20, "path is empty");
        Fails(() => SafeTensors.Load(" "), 1 << 20, "path is empty");
    }

    // ------------------------------------------------------------------ safetensors

    private static string WriteModel(TempDir t, Func<JsonObject, byte[], (JsonObject, byte[])> edit, string name = "m.safetensors")
    {
        var (h, d) = FuzzFiles.SplitSafeTensors(FuzzFiles.ModelBytes(t.Path));
        (h, d) = edit(h, d);
        string p = t.File(name);
        File.WriteAllBytes(p, FuzzFiles.JoinSafeTensors(h, d));
        return p;
    }

    private static JsonArray Offsets(JsonObject h, string name) => h[name]!["data_offsets"]!.AsArray();

    [Fact]
    public void Overlapping_byte_ranges_are_rejected()
    {
        using var t = new TempDir();
        string p = WriteModel(t, (h, d) =>
        {
            var o = Offsets(h, "0.weight");
            long a = o[0]!.GetValue<long>(), b = o[1]!.GetValue<long>();
            h["0.weight"]!["data_offsets"] = new JsonArray(a - 4, b - 4);
            return (h, d);
        });
        Fails(() => SafeTensors.Load(p), 1 << 20, "'0.weight'", "overlap");
    }

    [Fact]
    public void Gaps_and_bytes_belonging_to_no_tensor_are_rejected()
    {
        using var t = new TempDir();
        string gap = WriteModel(t, (h, d) =>
        {
            // Move the last tensor 4 bytes on and grow the buffer: a gap.
            var last = h.Where(kv => kv.Key != "__metadata__").OrderBy(kv => kv.Value!["data_offsets"]![0]!.GetValue<long>()).Last().Key;
            var o = Offsets(h, last);
            h[last]!["data_offsets"] = new JsonArray(o[0]!.GetValue<long>() + 4, o[1]!.GetValue<long>() + 4);
            return (h, [.. d, 0, 0, 0, 0]);
        }, "gap.safetensors");
        Fails(() => SafeTensors.Load(gap), 1 << 20, "a gap of 4 bytes");
        string tail = WriteModel(t, (h, d) => (h, [.. d, 1, 2, 3, 4, 5, 6, 7, 8]), "tail.safetensors");
        Fails(() => SafeTensors.Load(tail), 1 << 20, "8 bytes belong to no tensor");
        string shortFile = WriteModel(t, (h, d) => (h, d[..^4]), "short.safetensors");
        Fails(() => SafeTensors.Load(shortFile), 1 << 20, "truncated");
    }

    [Fact]
    public void Byte_length_must_equal_shape_times_dtype_size_without_overflow()
    {
        using var t = new TempDir();
        string p = WriteModel(t, (h, d) => { h["0.bias"]!["shape"] = new JsonArray(4); return (h, d); });
        Fails(() => SafeTensors.Load(p), 1 << 20, "'0.bias'", "needs 16 bytes of F32");
        string big = WriteModel(t, (h, d) => { h["0.bias"]!["shape"] = new JsonArray(2147483647, 2147483647, 4); return (h, d); }, "big.safetensors");
        Fails(() => SafeTensors.Load(big), 1 << 20, "'0.bias'", "more than");
        string neg = WriteModel(t, (h, d) => { h["0.bias"]!["shape"] = new JsonArray(-5); return (h, d); }, "neg.safetensors");
        Fails(() => SafeTensors.Load(neg), 1 << 20, "shape[0]", "-5");
    }

    [Fact]
    public void Header_length_beyond_the_file_or_the_format_limit_is_rejected_before_allocating()
    {
        using var t = new TempDir();
        var bytes = FuzzFiles.ModelBytes(t.Path);
        var past = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(past, (ulong)bytes.Length);
        File.WriteAllBytes(t.File("past"), past);
        Fails(() => SafeTensors.Load(t.File("past")), 1 << 20, "runs past the end of the file");
        var huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1UL << 40);
        File.WriteAllBytes(t.File("huge"), huge);
        Fails(() => SafeTensors.Load(t.File("huge")), 1 << 20, "more than the 104857600 bytes");
    }

    [Fact]
    public void Non_finite_weights_are_rejected_unless_asked_for()
    {
        using var t = new TempDir();
        string p = WriteModel(t, (h, d) =>
        {
            long at = Offsets(h, "2.weight")[0]!.GetValue<long>() + 8;
            BinaryPrimitives.WriteSingleLittleEndian(d.AsSpan((int)at), float.PositiveInfinity);
            return (h, d);
        });
        Fails(() => SafeTensors.Load(p), 1 << 20, "'2.weight' element 2", "Infinity");
        var (tensors, _) = SafeTensors.Load(p, allowNonFinite: true);
        Assert.True(float.IsPositiveInfinity(tensors["2.weight"].Data[2]));
        Assert.Throws<InvalidDataFileException>(() => ModelFile.Load(p));
    }

    [Fact]
    public void Duplicate_keys_and_non_string_metadata_are_rejected()
    {
        using var t = new TempDir();
        string p = WriteModel(t, (h, d) => { h["__metadata__"]!["n"] = 5; return (h, d); });
        Fails(() => SafeTensors.Load(p), 1 << 20, "metadata 'n' must be a string");
        var bytes = FuzzFiles.ModelBytes(t.Path);
        var (h, d) = FuzzFiles.SplitSafeTensors(bytes);
        string json = h.ToJsonString();
        string dup = "{\"0.bias\":" + h["0.bias"]!.ToJsonString() + "," + json[1..];
        var hb = System.Text.Encoding.UTF8.GetBytes(dup);
        var file = new byte[8 + hb.Length + d.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)hb.Length);
        hb.CopyTo(file, 8);
        d.CopyTo(file, 8 + hb.Length);
        File.WriteAllBytes(t.File("dup"), file);
        Fails(() => SafeTensors.Load(t.File("dup")), 1 << 20, "'0.bias' twice");
    }

    // ------------------------------------------------------------------ model metadata

    private static string WithArchitecture(TempDir t, Action<JsonArray> edit, string name)
    {
        return WriteModel(t, (h, d) =>
        {
            // The architecture is a tree: {"type": "Sequential", "layers": [...]}; the edits work on the layers.
            var arch = JsonNode.Parse(h["__metadata__"]!["nabla.architecture"]!.GetValue<string>())!.AsObject();
            edit(arch["layers"]!.AsArray());
            h["__metadata__"]!["nabla.architecture"] = arch.ToJsonString();
            return (h, d);
        }, name);
    }

    [Fact]
    public void A_forged_architecture_fails_before_its_layers_allocate()
    {
        using var t = new TempDir();
        string p = WithArchitecture(t, a => { a[0]!["in_features"] = 20000; a[0]!["out_features"] = 20000; }, "big.safetensors");
        Assert.True(new FileInfo(p).Length < 100_000);
        Fails(() => ModelFile.Load(p), 4 << 20, "nabla.architecture", "does not match the tensors");
        string huge = WithArchitecture(t, a => { a[0]!["in_features"] = 1; a[0]!["out_features"] = 1_000_000_000; }, "huge.safetensors");
        Fails(() => ModelFile.Load(huge), 4 << 20, "nabla.architecture", "does not match the tensors");
        string neg = WithArchitecture(t, a => a[0]!["in_features"] = -6, "neg.safetensors");
        Fails(() => ModelFile.Load(neg), 4 << 20, "layers[0].in_features", "-6");
        string wrong = WithArchitecture(t, a => a[0]!["out_features"] = 4, "wrong.safetensors");
        Fails(() => ModelFile.Load(wrong), 4 << 20, "'0.weight'", "expects shape");
        string type = WithArchitecture(t, a => a[0]!["in_features"] = "six", "type.safetensors");
        Fails(() => ModelFile.Load(type), 4 << 20, "layers[0].in_features");
    }

    [Fact]
    public void Cli_rejects_overflowing_and_negative_metadata_with_exit_code_2()
    {
        using var t = new TempDir();
        var model = FuzzFiles.ModelBytes(t.Path, inputs: 784);
        foreach (var (key, value, says) in new[]
                 {
                     ("nabla.image_shape", "65536,65536", "65536x65536"),
                     ("nabla.image_shape", "-28,-28", "nabla.image_shape"),
                     ("nabla.limit", "-5", "nabla.limit"),
                     ("nabla.seed", "99999999999", "nabla.seed"),
                 })
        {
            var (h, d) = FuzzFiles.SplitSafeTensors(model);
            h["__metadata__"]![key] = value;
            string p = t.File($"meta-{Guid.NewGuid():N}.safetensors");
            File.WriteAllBytes(p, FuzzFiles.JoinSafeTensors(h, d));
            var r = NablaCli.Run("evaluate", "--model", p);
            Assert.True(r.Code == ExitCodes.Usage, r.ToString());
            Assert.Contains(says, r.Err);
        }
    }

    // ------------------------------------------------------------------ images

    [Fact]
    public void Images_declaring_huge_sizes_are_rejected_before_decoding()
    {
        using var t = new TempDir();
        var cases = new (string Name, byte[] Bytes)[]
        {
            ("big.png", FuzzFiles.Png(declaredW: 30000, declaredH: 30000)),
            ("big.bmp", FuzzFiles.Bmp(30000, 30000, 64)),
            ("big.gif", FuzzFiles.Gif(30000, 30000)),
            ("big.pgm", System.Text.Encoding.ASCII.GetBytes("P5\n30000 30000\n255\n\0\0\0")),
        };
        foreach (var (name, bytes) in cases)
        {
            File.WriteAllBytes(t.File(name), bytes);
            UsageException? e = null;
            long used = Allocated(() => e = Assert.Throws<UsageException>(() => ImageInput.Read(t.File(name))));
            Assert.Contains("30000x30000", e!.Message);
            Assert.True(used < 8 << 20, $"{name}: allocated {used} bytes");
        }
    }

    [Fact]
    public void Truncated_images_are_rejected()
    {
        using var t = new TempDir();
        var png = FuzzFiles.Png(64, 64);
        File.WriteAllBytes(t.File("ok.png"), png);
        Assert.Equal(64, ImageInput.Read(t.File("ok.png")).Width);
        File.WriteAllBytes(t.File("half.png"), png[..(png.Length / 2)]);
        var e = Assert.Throws<UsageException>(() => ImageInput.Read(t.File("half.png")));
        Assert.Contains("half.png", e.Message);
        var pgm = FuzzFiles.Pgm(12, 10);
        File.WriteAllBytes(t.File("half.pgm"), pgm[..^30]);
        Assert.Contains("truncated", Assert.Throws<UsageException>(() => ImageInput.Read(t.File("half.pgm"))).Message);
    }

    [Fact]
    public void Cli_refuses_devices_and_empty_paths_with_exit_code_2()
    {
        using var t = new CliTempDir();
        var r = NablaCli.Run("evaluate", "--model", "");
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        if (OperatingSystem.IsWindows()) return;
        r = NablaCli.Run("evaluate", "--model", "/dev/zero");
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains("character device", r.Err);
    }
}
