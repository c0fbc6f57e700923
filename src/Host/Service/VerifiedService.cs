using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Verified.Host.Dashboard;

namespace Verified.Host.Service;

/// <summary>
/// <c>verified serve</c> as one generic host: the worker pool (<see cref="SimulationWorker"/>), the store, and the
/// HTTP API on Kestrel. <see cref="Create"/> is all a caller needs; tests call it with their own settings.
/// </summary>
internal static class VerifiedService
{
    /// <summary>
    /// Builds the service from <paramref name="settings"/> (configuration keys such as <c>Service:Urls</c>; see
    /// <see cref="ServiceOptions"/>). Options are checked when the host starts: <c>StartAsync</c> throws an
    /// <see cref="OptionsValidationException"/> listing every problem, before anything listens.
    /// </summary>
    public static WebApplication Create(IEnumerable<KeyValuePair<string, string?>> settings, Action<IServiceCollection>? services = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Environment.CurrentDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddVerifiedService();
        services?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.UseVerifiedService();
        return app;
    }

    /// <summary>Registers everything the service needs.</summary>
    public static WebApplicationBuilder AddVerifiedService(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // One line per request is noise for a job service; its own log says what the jobs do.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The host logs a failed start (a port in use) and a faulted worker with the whole stack trace; verified serve
        // reports both itself, in one line (the command line's contract), so the host's copy is left out.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Services.AddRoutingCore();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Routing answers a POST whose Content-Type the endpoint does not accept (415) before the endpoint runs:
            // give that problem the API's type and say what to send.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && context.ProblemDetails.Type?.StartsWith("urn:", StringComparison.Ordinal) != true)
            {
                context.ProblemDetails.Type = ProblemTypes.UnsupportedMediaType;
                context.ProblemDetails.Title = "The body must be JSON.";
                context.ProblemDetails.Detail = $"Send the spec with Content-Type: application/json (got '{context.HttpContext.Request.ContentType}').";
            }
        });
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.WriteIndented = true;
            // The API's records from generated metadata; the framework's own types (problem details) keep theirs.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServiceJsonContext.Default);
        });

        IServiceCollection services = builder.Services;
        services.AddOptions<ServiceOptions>().BindConfiguration(ServiceOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServiceOptions>, ServiceOptionsValidator>();
        // The host's own options are read when the host is built, before ours are validated (at start): take the
        // shutdown timeout from the configuration, falling back to the default when it is not a valid one.
        IConfigurationSection section = builder.Configuration.GetSection(ServiceOptions.Section);
        services.AddOptions<HostOptions>().Configure(host =>
        {
            host.ShutdownTimeout = TimeSpan.TryParse(section[nameof(ServiceOptions.ShutdownTimeout)], CultureInfo.InvariantCulture, out TimeSpan timeout)
                && timeout > TimeSpan.Zero && timeout <= TimeSpan.FromSeconds(9)
                ? timeout
                : new ServiceOptions().ShutdownTimeout;
            host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.AddOptions<KestrelServerOptions>().Configure(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = long.TryParse(section[nameof(ServiceOptions.MaxRequestBodyBytes)], CultureInfo.InvariantCulture, out long limit) && limit > 0
                ? limit
                : new ServiceOptions().MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SimulationData>();
        services.TryAddSingleton<IRunFactory, InProcessRuns>();
        services.AddSingleton<RunSignals>();
        services.AddSingleton<RunEstimator>();
        services.AddSingleton(sp => new ArtifactPaths(sp.GetRequiredService<IOptions<ServiceOptions>>().Value.ArtifactsDirectory));
        services.AddSingleton(sp => new StoreLock(sp.GetRequiredService<IOptions<ServiceOptions>>().Value.StorePath));
        services.AddSingleton(sp => RunStore.Open(sp.GetRequiredService<IOptions<ServiceOptions>>().Value.StorePath, sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<SimulationWorker>();

        // Kestrel's addresses are fixed when the server starts, after the options have been validated.
        string urls = section[nameof(ServiceOptions.Urls)] ?? ServiceOptions.DefaultUrls;
        builder.WebHost.UseUrls(urls);
        return builder;
    }

    /// <summary>The request pipeline and the endpoints.</summary>
    public static WebApplication UseVerifiedService(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiToken(app.Configuration[$"{ServiceOptions.Section}:{nameof(ServiceOptions.ApiToken)}"]);
        app.UseRouting();
        app.MapOpenApi();
        app.MapRunsApi();
        app.MapDashboard();
        return app;
    }

    /// <summary>The JSON options the API writes with (for clients in tests).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);
}
