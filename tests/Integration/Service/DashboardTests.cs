using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace IntegrationTests.Service;

/// <summary>
/// The dashboard of <c>verified serve</c> in a real browser: Debian's Chromium driven by Playwright (docs/dashboard.md).
/// Every page is watched for console errors, uncaught exceptions and requests that leave the service's origin; each
/// test fails on any it did not expect. Chromium missing is a failure, not a skip: <c>.ci/run</c> installs it.
/// Set VERIFIED_SCREENSHOTS to a folder to save a screenshot of each page (how docs/dashboard.md's were made).
/// </summary>
public sealed class DashboardTests(DashboardFixture fixture, ITestOutputHelper output) : IClassFixture<DashboardFixture>
{
    private const int TimeoutMs = 240_000;

    [MnistFact]
    public async Task RunsList_ShowsTheSeededRuns_WithTheirOutcome_AndNoErrorOrRequestOffTheOrigin()
    {
        await using Browsing browsing = await fixture.OpenAsync(output);
        IPage page = browsing.Page;
        await page.GotoAsync("/");
        ILocator rows = page.Locator("[data-testid=runs] tbody tr[data-run]");
        // Every run the store holds (the class's other tests add theirs, each finished before its test ends).
        int stored = await CountRunsAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(stored, new() { Timeout = TimeoutMs });
        foreach (JsonElement run in fixture.Seeded)
        {
            long id = run.GetProperty("id").GetInt64();
            JsonElement record = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{id}", default);
            ILocator row = page.Locator($"tr[data-run='{id}']");
            await Assertions.Expect(row.Locator("[data-field=status]")).ToHaveTextAsync("succeeded");
            await Assertions.Expect(row.Locator("[data-field=accuracy]")).ToHaveTextAsync(Accuracy(record));
            await Assertions.Expect(row).ToContainTextAsync(record.GetProperty("spec").GetProperty("label").GetString()!);
        }
        // The status filter narrows the list and is kept in the URL.
        await page.GetByTestId("status-filter").SelectOptionAsync("failed");
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        Assert.Contains("status=failed", page.Url, StringComparison.Ordinal);
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("status-filter")).ToHaveValueAsync("failed");
        await page.GetByTestId("status-filter").SelectOptionAsync("");
        await Assertions.Expect(rows).ToHaveCountAsync(stored, new() { Timeout = TimeoutMs });
        await browsing.ScreenshotAsync("runs");
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task RunsList_CancelsARunningAndAQueuedRun_AndClonesARunIntoTheFormThatRunsTheSameSpec()
    {
        await using Browsing browsing = await fixture.OpenAsync(output);
        IPage page = browsing.Page;
        long running = (await ServiceTesting.SubmitAsync(fixture.Client, ServiceTesting.Spec(100_000), default)).GetProperty("id").GetInt64();
        long queued = (await ServiceTesting.SubmitAsync(fixture.Client, ServiceTesting.Spec(10), default)).GetProperty("id").GetInt64();
        await ServiceTesting.WaitForRunAsync(fixture.Client, running, run => ServiceTesting.Status(run) == "running", default);
        await page.GotoAsync("/");
        foreach (long id in new[] { queued, running })
        {
            ILocator row = page.Locator($"tr[data-run='{id}']");
            await row.Locator("[data-action=cancel]").ClickAsync(new() { Timeout = TimeoutMs });
            await Assertions.Expect(row.Locator("[data-field=status]")).ToHaveTextAsync("cancelled", new() { Timeout = TimeoutMs });
            // A finished run offers no cancel.
            await Assertions.Expect(row.Locator("[data-action=cancel]")).ToHaveCountAsync(0);
        }
        JsonElement source = fixture.Seeded[1];
        await page.Locator($"tr[data-run='{source.GetProperty("id").GetInt64()}'] [data-action=clone]").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/new\?clone=\d+$"));
        await Assertions.Expect(page.Locator("#field-bits")).ToHaveValueAsync("3", new() { Timeout = TimeoutMs });
        await page.GetByTestId("submit").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs/\d+$"), new() { Timeout = TimeoutMs });
        long clone = long.Parse(page.Url[(page.Url.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);
        JsonElement cloned = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{clone}", default);
        Assert.NotEqual(source.GetProperty("id").GetInt64(), clone);
        Assert.Equal(source.GetProperty("spec").GetRawText(), cloned.GetProperty("spec").GetRawText());
        await ServiceTesting.WaitForRunAsync(fixture.Client, clone, ServiceTesting.IsFinal, default);
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task NewRun_AnInvalidFieldIsShownBesideIt_AndNothingIsStored_AValidFormLandsOnTheRunPage()
    {
        // The 400 of the invalid submission is the one error the browser may log.
        await using Browsing browsing = await fixture.OpenAsync(output, allowedConsole: "status of 400");
        IPage page = browsing.Page;
        int before = await CountRunsAsync();
        await page.GotoAsync("/#/new");
        await Assertions.Expect(page.Locator("#field-scheme")).ToHaveValueAsync("tnq", new() { Timeout = TimeoutMs });
        await Assertions.Expect(page.Locator("#field-bits")).ToHaveValueAsync("3");
        await page.Locator("#field-model").SelectOptionAsync("mlp");
        await page.Locator("#field-clients").FillAsync("4");
        await page.Locator("#field-rounds").FillAsync("10");
        await page.Locator("#field-evaluateEvery").FillAsync("5");
        await page.Locator("#field-bits").FillAsync("9");
        await browsing.ScreenshotAsync("new-run");
        await page.GetByTestId("submit").ClickAsync();
        ILocator bitsError = page.Locator("[data-error-for=bits]");
        await Assertions.Expect(bitsError).ToContainTextAsync("bits = 9", new() { Timeout = TimeoutMs });
        await Assertions.Expect(page.Locator("#field-bits")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.Locator("[data-error-for=rounds]")).ToBeEmptyAsync();
        await browsing.ScreenshotAsync("new-run-error");
        Assert.Equal(before, await CountRunsAsync());
        Assert.EndsWith("#/new", page.Url, StringComparison.Ordinal);

        await page.Locator("#field-bits").FillAsync("2");
        await page.GetByTestId("submit").ClickAsync();
        // A fragment change is a same-document navigation: poll the URL rather than wait for a load event.
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs/\d+$"), new() { Timeout = TimeoutMs });
        }
        catch (PlaywrightException exception)
        {
            throw new Xunit.Sdk.XunitException($"The valid form did not land on a run page ({exception.Message}); the form says: '{await page.GetByTestId("form-error").TextContentAsync()}'.");
        }
        long id = long.Parse(page.Url[(page.Url.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);
        JsonElement run = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{id}", default);
        JsonElement spec = run.GetProperty("spec");
        Assert.Equal(("tnq", 2, "mlp", 4, 10), (spec.GetProperty("scheme").GetString(), spec.GetProperty("bits").GetInt32(),
            spec.GetProperty("model").GetString(), spec.GetProperty("clients").GetInt32(), spec.GetProperty("rounds").GetInt32()));
        Assert.Equal(before + 1, await CountRunsAsync());
        await ServiceTesting.WaitForRunAsync(fixture.Client, id, ServiceTesting.IsFinal, default);
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task RunPage_FollowsALiveRunToItsFinalRound_ChartsHoldExactlyTheMetrics_AndTheFinalAccuracyIsTheApis()
    {
        await using Browsing browsing = await fixture.OpenAsync(output);
        IPage page = browsing.Page;
        long id = (await ServiceTesting.SubmitAsync(fixture.Client, ServiceTesting.Spec(40, ("bits", 3)), default)).GetProperty("id").GetInt64();
        await page.GotoAsync($"/#/runs/{id}");
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("succeeded", new() { Timeout = TimeoutMs });
        await AssertChartsHoldTheMetricsAsync(page, id, expectedRounds: 40);
        JsonElement run = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{id}", default);
        await Assertions.Expect(page.GetByTestId("final-accuracy")).ToHaveTextAsync(Accuracy(run));
        // The audit table has a row per audited round (every 5th from round 1) and the provenance names the build.
        await Assertions.Expect(page.Locator("[data-testid=audit] tbody tr")).ToHaveCountAsync(8);
        await Assertions.Expect(page.GetByTestId("provenance")).ToContainTextAsync(run.GetProperty("provenance").GetProperty("commit").GetString()!);
        await Assertions.Expect(page.GetByTestId("csv")).ToHaveAttributeAsync("href", $"/api/runs/{id}/metrics?format=csv");
        await browsing.ScreenshotAsync("run");
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task RunPage_ReloadedMidRun_ResumesTheStreamWithoutDuplicatePoints()
    {
        await using Browsing browsing = await fixture.OpenAsync(output);
        IPage page = browsing.Page;
        // A run far longer than the test: it is still running at the reload whatever the machine's speed (no race with
        // its end), and the test ends it with a cancel once the reloaded page has drawn more rounds.
        long id = (await ServiceTesting.SubmitAsync(fixture.Client, ServiceTesting.Spec(100_000, ("bits", 4)), default)).GetProperty("id").GetInt64();
        await page.GotoAsync($"/#/runs/{id}");
        await page.WaitForFunctionAsync("() => window.verifiedCharts.loss && window.verifiedCharts.loss.data[0].length >= 3", null, new() { Timeout = TimeoutMs });
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => window.verifiedCharts.loss && window.verifiedCharts.loss.data[0].length >= 10", null, new() { Timeout = TimeoutMs });
        using (HttpResponseMessage cancel = await fixture.Client.PostAsync($"/api/runs/{id}/cancel", null))
        {
            Assert.True(cancel.IsSuccessStatusCode, $"cancel: {(int)cancel.StatusCode}");
        }
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("cancelled", new() { Timeout = TimeoutMs });
        await AssertChartsHoldTheMetricsAsync(page, id, expectedRounds: null);
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task Compare_TwoSpecsDifferingInBits_TwoSeriesOneWithASeedBand_AndADiffOfOnlyThoseFields()
    {
        await using Browsing browsing = await fixture.OpenAsync(output);
        IPage page = browsing.Page;
        // Seeded: tnq-2 (seeds 1 and 2) and tnq-3 (seed 1); the two tnq-2 runs are one group, drawn as mean ± sd.
        string ids = string.Join(',', fixture.Seeded.Select(r => r.GetProperty("id").GetInt64()));
        await page.GotoAsync("/#/runs");
        foreach (JsonElement run in fixture.Seeded)
        {
            await page.Locator($"tr[data-run='{run.GetProperty("id").GetInt64()}'] input[type=checkbox]").CheckAsync(new() { Timeout = TimeoutMs });
        }
        await page.GetByTestId("compare-selected").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/compare\?runs=" + Regex.Escape(ids) + "$"), new() { Timeout = TimeoutMs });
        await Assertions.Expect(page.GetByTestId("compare-group")).ToHaveCountAsync(2, new() { Timeout = TimeoutMs });
        // x, tnq-2's mean with its + sd and − sd lines, tnq-3.
        Assert.Equal(5, await page.EvaluateAsync<int>("() => window.verifiedCharts['compare-accuracy'].series.length"));
        Assert.Equal(1, await page.EvaluateAsync<int>("() => window.verifiedCharts['compare-accuracy'].bands.length"));
        ILocator diffRows = page.Locator("[data-testid=diff] tbody tr");
        Assert.Equal(["bits", "seed"], await diffRows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.field)"));

        // Two runs that differ in bits only: two plain series and a diff of bits alone.
        string pair = $"{fixture.Seeded[0].GetProperty("id").GetInt64()},{fixture.Seeded[1].GetProperty("id").GetInt64()}";
        await page.GotoAsync($"/#/compare?runs={pair}");
        await Assertions.Expect(page.GetByTestId("compare-group")).ToHaveCountAsync(2, new() { Timeout = TimeoutMs });
        Assert.Equal(3, await page.EvaluateAsync<int>("() => window.verifiedCharts['compare-accuracy'].series.length"));
        Assert.Equal(["bits"], await diffRows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.field)"));

        // The x axis is part of the page's state: uploaded bytes on a log scale, kept across a reload.
        await page.GetByTestId("x-axis").SelectOptionAsync("bytes");
        Assert.EndsWith("x=bytes", page.Url, StringComparison.Ordinal);
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("x-axis")).ToHaveValueAsync("bytes", new() { Timeout = TimeoutMs });
        Assert.Equal(3, await page.EvaluateAsync<int>("() => window.verifiedCharts['compare-accuracy'].scales.x.distr"));
        JsonElement first = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{fixture.Seeded[0].GetProperty("id").GetInt64()}/metrics", default);
        double[] xs = await page.EvaluateAsync<double[]>("() => window.verifiedCharts['compare-accuracy'].data[0]");
        Assert.Contains((double)first[first.GetArrayLength() - 1].GetProperty("totalBytes").GetInt64(), xs);
        await browsing.ScreenshotAsync("compare");
        browsing.AssertClean();
    }

    [MnistFact]
    public async Task WithAnApiToken_ThePageAsksForIt_RefusesAWrongOne_AndSendsItAsABearerHeader()
    {
        const string token = "dashboard-test-token-0123456789";
        await using Browsing browsing = await fixture.OpenTokenServiceAsync(output, token);
        IPage page = browsing.Page;
        var headers = new List<string?>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/", StringComparison.Ordinal))
            {
                headers.Add(request.Headers.TryGetValue("authorization", out string? value) ? value : null);
            }
        };
        await page.GotoAsync("/");
        ILocator dialog = page.Locator("#token-dialog");
        await Assertions.Expect(dialog).ToBeVisibleAsync(new() { Timeout = TimeoutMs });
        await page.Locator("#token-input").FillAsync("not-the-token");
        await page.Locator("#token-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#token-error")).ToContainTextAsync("refused", new() { Timeout = TimeoutMs });
        await page.Locator("#token-input").FillAsync(token);
        int beforeToken = headers.Count;
        await page.Locator("#token-submit").ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("[data-testid=runs] tbody tr[data-run]")).ToHaveCountAsync(1, new() { Timeout = TimeoutMs });
        Assert.True(headers.Count > beforeToken);

        // The run page's rows and its event stream (read with fetch, which can send the header) come with the token too.
        await page.Locator("[data-testid=runs] tbody tr[data-run] a").First.ClickAsync();
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("succeeded", new() { Timeout = TimeoutMs });
        await page.WaitForFunctionAsync("() => window.verifiedCharts.loss && window.verifiedCharts.loss.data[0].length === 10", null, new() { Timeout = TimeoutMs });
        Assert.All(headers.Skip(beforeToken), header => Assert.Equal("Bearer " + token, header));
        browsing.AssertClean();
    }

    private async Task<int> CountRunsAsync() =>
        (await ServiceTesting.GetJsonAsync(fixture.Client, "/api/runs?limit=1000", default)).GetProperty("runs").GetArrayLength();

    /// <summary>The run page's charts hold every stored round once, in order, with exactly the API's values.</summary>
    /// <remarks><paramref name="expectedRounds"/> null: whatever a cancelled run stored, at least one round.</remarks>
    private async Task AssertChartsHoldTheMetricsAsync(IPage page, long id, int? expectedRounds)
    {
        JsonElement metrics = await ServiceTesting.GetJsonAsync(fixture.Client, $"/api/runs/{id}/metrics", default);
        int rounds = metrics.GetArrayLength();
        Assert.Equal(expectedRounds ?? Math.Max(1, rounds), rounds);
        JsonElement charts = await page.EvaluateAsync<JsonElement>(
            "() => Object.fromEntries(['loss', 'accuracy', 'bytes', 'tradeoff'].map(name => [name, window.verifiedCharts[name].data.map(series => Array.from(series, v => v ?? null))]))");
        Assert.Equal([.. Enumerable.Range(1, rounds).Select(r => (double?)r)], Numbers(charts.GetProperty("loss")[0]));
        Assert.Equal(Column(metrics, "trainingLoss"), Numbers(charts.GetProperty("loss")[1]));
        Assert.Equal(Column(metrics, "testLoss"), Numbers(charts.GetProperty("loss")[2]));
        Assert.Equal(Column(metrics, "testAccuracy"), Numbers(charts.GetProperty("accuracy")[1]));
        Assert.Equal(Column(metrics, "totalBytes"), Numbers(charts.GetProperty("bytes")[1]));
        Assert.Equal(Column(metrics, "totalBytes"), Numbers(charts.GetProperty("tradeoff")[0]));
        Assert.Equal(Column(metrics, "testAccuracy"), Numbers(charts.GetProperty("tradeoff")[1]));
    }

    private static double?[] Column(JsonElement metrics, string name) =>
        [.. metrics.EnumerateArray().Select(row => row.GetProperty(name) is { ValueKind: JsonValueKind.Number } value ? value.GetDouble() : (double?)null)];

    private static double?[] Numbers(JsonElement array) =>
        [.. array.EnumerateArray().Select(value => value.ValueKind == JsonValueKind.Number ? value.GetDouble() : (double?)null)];

    /// <summary>A run's final accuracy as the dashboard prints it (4 decimals).</summary>
    private static string Accuracy(JsonElement run) =>
        run.GetProperty("outcome").GetProperty("finalAccuracy").GetDouble().ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary>
/// One service (three finished runs: tnq-2 with seeds 1 and 2, tnq-3) and one Chromium for the dashboard's tests.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("verified-dashboard-");
    private readonly List<WebApplication> _apps = [];
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public HttpClient Client { get; private set; } = null!;

    public Uri Address { get; private set; } = null!;

    /// <summary>The seeded runs, finished: tnq-2 seed 1, tnq-3 seed 1, tnq-2 seed 2.</summary>
    public IReadOnlyList<JsonElement> Seeded { get; private set; } = [];

    /// <summary>Debian's Chromium (<c>apt-get install chromium</c>), or the one VERIFIED_CHROMIUM names.</summary>
    public static string? ChromiumPath =>
        new[] { Environment.GetEnvironmentVariable("VERIFIED_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium" }
            .FirstOrDefault(path => !string.IsNullOrEmpty(path) && File.Exists(path));

    public async Task InitializeAsync()
    {
        if (MnistDataTests.DataDirectory is null)
        {
            return; // every test here is an MnistFact and skips
        }
        (WebApplication app, Uri address) = await StartServiceAsync(token: null);
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = ServiceTesting.Patience };
        var seeded = new List<JsonElement>();
        foreach ((int bits, long seed) in new[] { (2, 1L), (3, 1L), (2, 2L) })
        {
            seeded.Add(await ServiceTesting.SubmitAsync(Client, ServiceTesting.Spec(20, ("bits", bits), ("seed", seed)), default));
        }
        using var patience = new CancellationTokenSource(ServiceTesting.Patience);
        Seeded = [.. await Task.WhenAll(seeded.Select(run => ServiceTesting.WaitForRunAsync(Client, run.GetProperty("id").GetInt64(), ServiceTesting.IsFinal, patience.Token)))];
        Assert.All(Seeded, run => Assert.Equal("succeeded", ServiceTesting.Status(run)));

        string chromium = ChromiumPath ?? throw new InvalidOperationException(
            "Chromium is not installed: the dashboard's browser tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it), or VERIFIED_CHROMIUM set to a Chromium executable.");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            // As root Chromium needs --no-sandbox; /dev/shm is small in containers; nothing may reach out to the network.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    /// <summary>A fresh browser context and page on the seeded service.</summary>
    public Task<Browsing> OpenAsync(ITestOutputHelper output, string? allowedConsole = null) => NewPageAsync(Address, output, allowedConsole);

    /// <summary>A service started with <paramref name="token"/>, holding one finished 10-round run, and a page on it.</summary>
    public async Task<Browsing> OpenTokenServiceAsync(ITestOutputHelper output, string token)
    {
        (_, Uri address) = await StartServiceAsync(token);
        using var client = new HttpClient { BaseAddress = address, Timeout = ServiceTesting.Patience };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        JsonElement run = await ServiceTesting.SubmitAsync(client, ServiceTesting.Spec(10), default);
        using var patience = new CancellationTokenSource(ServiceTesting.Patience);
        await ServiceTesting.WaitForRunAsync(client, run.GetProperty("id").GetInt64(), ServiceTesting.IsFinal, patience.Token);
        // The 401s before the token is given, and the one refusing the wrong token, are the errors the browser may log.
        return await NewPageAsync(address, output, "status of 401");
    }

    private async Task<Browsing> NewPageAsync(Uri address, ITestOutputHelper output, string? allowedConsole)
    {
        Assert.NotNull(_browser);
        output.WriteLine($"Chromium {_browser.Version} at {ChromiumPath}");
        IBrowserContext context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        context.SetDefaultTimeout(60_000);
        IPage page = await context.NewPageAsync();
        return new Browsing(context, page, address, allowedConsole);
    }

    private async Task<(WebApplication App, Uri Address)> StartServiceAsync(string? token)
    {
        string store = _directory.CreateSubdirectory("store" + _apps.Count.ToString(CultureInfo.InvariantCulture)).FullName;
        WebApplication app = ServiceTesting.CreateHost(ServiceTesting.Settings(store, token: token));
        _apps.Add(app);
        using var start = new CancellationTokenSource(ServiceTesting.Patience);
        await app.StartAsync(start.Token);
        return (app, ServiceTesting.Address(app));
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }
        _playwright?.Dispose();
        Client?.Dispose();
        foreach (WebApplication app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }
}

/// <summary>
/// One page in its own browser context, watched: console errors (but those matching the test's allowed text),
/// uncaught exceptions and any request that leaves the service's origin are collected for <see cref="AssertClean"/>.
/// </summary>
public sealed class Browsing : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _problems = [];

    internal Browsing(IBrowserContext context, IPage page, Uri origin, string? allowedConsole)
    {
        _context = context;
        Page = page;
        string expected = origin.GetLeftPart(UriPartial.Authority);
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && (allowedConsole is null || !message.Text.Contains(allowedConsole, StringComparison.Ordinal)))
            {
                _problems.Add($"console error: {message.Text}");
            }
        };
        page.PageError += (_, error) => _problems.Add($"page error: {error}");
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(expected + "/", StringComparison.Ordinal) && !request.Url.StartsWith("blob:" + expected, StringComparison.Ordinal))
            {
                _problems.Add($"request off the origin: {request.Url}");
            }
        };
    }

    public IPage Page { get; }

    /// <summary>No console error, page error or request off the origin so far.</summary>
    public void AssertClean() => Assert.True(_problems.Count == 0, string.Join(Environment.NewLine, _problems));

    /// <summary>A full-page screenshot into VERIFIED_SCREENSHOTS/NAME.png, when that variable is set.</summary>
    public async Task ScreenshotAsync(string name)
    {
        if (Environment.GetEnvironmentVariable("VERIFIED_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
        }
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
