using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Verified.Host.Cli;
using static IntegrationTests.Service.ServiceTesting;

namespace IntegrationTests.Service;

/// <summary>Binding and tokens: loopback by default, a token beyond it, checked on every request; bad options stop the start.</summary>
[Collection(LibtorchTests.Name)]
public sealed class ServiceSecurityTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-service-security-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task NonLoopbackAddress_WithoutToken_RefusesToStart_SayingWhy()
    {
        Dictionary<string, string?> settings = Settings(_directory.FullName);
        settings["Service:Urls"] = "http://0.0.0.0:0";
        await using var app = Verified.Host.Service.VerifiedService.Create(settings);
        using var timeout = new CancellationTokenSource(Patience);
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(timeout.Token));
        Assert.Contains(exception.Failures, f => f.Contains("needs an API token", StringComparison.Ordinal) && f.Contains("VERIFIED_API_TOKEN", StringComparison.Ordinal));
    }

    [Fact]
    public void ServeCommand_WithBadOptions_ExitsWithEveryReason_BeforeListening()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = VerifiedCli.Run(
            ["serve", "--urls", "http://0.0.0.0:0", "--workers", "0", "--checkpoint-every", "0", "--store", Path.Combine(_directory.FullName, "x.db")],
            output, error);

        Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
        string said = error.ToString();
        Assert.Contains("verified serve: --urls http://0.0.0.0:0 listens beyond loopback, which needs an API token", said, StringComparison.Ordinal);
        Assert.Contains("verified serve: --workers = 0 is out of range", said, StringComparison.Ordinal);
        Assert.Contains("verified serve: --checkpoint-every = 0 is out of range", said, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", output.ToString(), StringComparison.Ordinal);
    }

    [MnistFact]
    public async Task SecondService_OnTheSameStore_RefusesToStart()
    {
        await using var first = CreateHost(Settings(_directory.FullName));
        using var timeout = new CancellationTokenSource(Patience);
        await first.StartAsync(timeout.Token);
        try
        {
            await using var second = CreateHost(Settings(_directory.FullName));
            var exception = await Assert.ThrowsAnyAsync<IOException>(() => second.StartAsync(timeout.Token));
            Assert.Contains("is in use by another verified serve", exception.Message, StringComparison.Ordinal);

            using var output = new StringWriter();
            using var error = new StringWriter();
            int exit = VerifiedCli.Run(["serve", "--urls", "http://127.0.0.1:0", "--store", Path.Combine(_directory.FullName, "verified.db")], output, error);
            Assert.Equal(VerifiedCli.InvalidArgumentsExitCode, exit);
            Assert.StartsWith("verified serve: The store ", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("is in use by another verified serve", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await first.StopAsync(CancellationToken.None);
        }
    }

    [MnistFact]
    public async Task ConfiguredToken_IsRequiredOnEveryRequest()
    {
        const string Token = "s3cret-token-for-tests-0123456789";
        await using var app = CreateHost(Settings(_directory.FullName, token: Token));
        using var timeout = new CancellationTokenSource(Patience);
        await app.StartAsync(timeout.Token);
        try
        {
            using var client = new HttpClient { BaseAddress = Address(app) };
            foreach (string path in new[] { "/health", "/api/runs", "/api/runs/1", "/openapi/v1.json" })
            {
                using HttpResponseMessage anonymous = await client.GetAsync(path, timeout.Token);
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);

                using var wrong = new HttpRequestMessage(HttpMethod.Get, path);
                wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token + "x");
                Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(wrong, timeout.Token)).StatusCode);
            }
            using var submit = new HttpRequestMessage(HttpMethod.Post, "/api/runs") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(submit, timeout.Token)).StatusCode);

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", timeout.Token)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/runs", timeout.Token)).StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
