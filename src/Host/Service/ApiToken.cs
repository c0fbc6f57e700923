using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Verified.Host.Service;

/// <summary>
/// When an API token is configured, every request (the health check and the OpenAPI document included) must carry
/// <c>Authorization: Bearer &lt;token&gt;</c>; anything else gets a 401 problem. Compared in constant time. The
/// dashboard's static files are the exception: they hold no data, and the page asks for the token.
/// </summary>
internal static class ApiToken
{
    public static IApplicationBuilder UseApiToken(this IApplicationBuilder app, string? token)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (string.IsNullOrEmpty(token))
        {
            return app;
        }
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return app.Use(async (context, next) =>
        {
            // The dashboard's files hold no data; the page must load to ask for the token it then sends with every call.
            if (Dashboard.DashboardAssets.IsAssetRequest(context.Request) || IsAuthorized(context.Request.Headers.Authorization.ToString(), expected))
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "An API token is required.",
                detail: "Send the service's token as 'Authorization: Bearer <token>'.").ExecuteAsync(context).ConfigureAwait(false);
        });
    }

    /// <summary>Whether <paramref name="header"/> is <c>Bearer</c> and a token whose SHA-256 is <paramref name="expected"/>.</summary>
    public static bool IsAuthorized(string? header, byte[] expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        // Hashing first makes the comparison constant-time whatever the lengths.
        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
