using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Nabla.Playground.Tests;

/// <summary>
/// A tiny static file server for the published app (HttpListener on 127.0.0.1): the right content types, the
/// precompressed .br/.gz files when the browser accepts them (as a production host serves them), index.html for
/// the app's routes, and a count of the bytes sent per path so the first load's compressed size can be measured.
/// </summary>
public sealed class StaticServer : IDisposable
{
    private static readonly Dictionary<string, string> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript", [".mjs"] = "text/javascript",
        [".css"] = "text/css", [".json"] = "application/json", [".wasm"] = "application/wasm",
        [".png"] = "image/png", [".ico"] = "image/x-icon", [".svg"] = "image/svg+xml",
        [".dat"] = "application/octet-stream", [".safetensors"] = "application/octet-stream", [".txt"] = "text/plain",
    };

    private readonly string root;
    private readonly HttpListener listener = new();
    private readonly Task loop;

    /// <summary>Bytes sent per request path (the body as sent, compressed or not), since the last <see cref="ResetCounts"/>.</summary>
    public ConcurrentDictionary<string, (long Bytes, string Encoding)> Sent { get; } = new();

    /// <summary>The Accept-Encoding header of the last request.</summary>
    public string? LastAcceptEncoding { get; private set; }

    /// <summary>The base address, ending in a slash.</summary>
    public string BaseAddress { get; }

    /// <summary>Serves <paramref name="wwwroot"/> on a free port.</summary>
    public StaticServer(string wwwroot)
    {
        root = Path.GetFullPath(wwwroot);
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; probe.Stop(); }
        BaseAddress = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(BaseAddress);
        listener.Start();
        loop = Task.Run(Loop);
    }

    /// <summary>Forgets the byte counts.</summary>
    public void ResetCounts() => Sent.Clear();

    private async Task Loop()
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await listener.GetContextAsync(); }
            catch (Exception) when (!listener.IsListening) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => Serve(ctx));
        }
    }

    private async Task Serve(HttpListenerContext ctx)
    {
        var res = ctx.Response;
        try
        {
            string rel = Uri.UnescapeDataString(ctx.Request.Url!.AbsolutePath).TrimStart('/');
            string path = Path.GetFullPath(Path.Combine(root, rel));
            if (!path.StartsWith(root, StringComparison.Ordinal)) { res.StatusCode = 403; return; }
            if (rel.Length == 0 || (!File.Exists(path) && !Path.HasExtension(rel))) path = Path.Combine(root, "index.html");
            if (!File.Exists(path)) { res.StatusCode = 404; return; }

            string accept = ctx.Request.Headers["Accept-Encoding"] ?? "";
            LastAcceptEncoding = accept;
            string file = path, encoding = "";
            if (accept.Contains("br", StringComparison.Ordinal) && File.Exists(path + ".br")) { file = path + ".br"; encoding = "br"; }
            else if (accept.Contains("gzip", StringComparison.Ordinal) && File.Exists(path + ".gz")) { file = path + ".gz"; encoding = "gzip"; }
            res.ContentType = Types.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
            if (encoding.Length > 0) res.AddHeader("Content-Encoding", encoding);
            res.AddHeader("Cache-Control", "no-cache");
            byte[] body = await File.ReadAllBytesAsync(file);
            res.ContentLength64 = body.Length;
            await res.OutputStream.WriteAsync(body);
            Sent["/" + rel] = (body.Length, encoding);
        }
        catch (Exception) { /* the browser went away mid-response */ }
        finally
        {
            try { res.Close(); } catch (Exception) { }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { listener.Stop(); listener.Close(); } catch (ObjectDisposedException) { }
        try { loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
