using System.Collections.Immutable;
using System.Globalization;
using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace Verified.Sde;

/// <summary>
/// Settings of the Theorem 1 check (issue 6 item 5): quantized distributed SGD on the quadratic
/// F(θ) = (λ/2)‖θ‖² (L = λ, F* = 0), where every client's gradient is ∇F(θ) plus i.i.d. Laplace(0, γ) noise per
/// coordinate — assumption (A3) of spec §2.4 holds at the optimum, and the quantizers are designed for the true γ.
/// </summary>
public sealed record Theorem1Settings
{
    /// <summary>d, coordinates per upload. Range: 1..65536. Default 512.</summary>
    public int Dimension { get; init => field = Positive(nameof(Dimension), value, 65_536); } = 512;

    /// <summary>N, clients averaged per round. Range: 1..256. Default 8 (the papers' setting).</summary>
    public int Clients { get; init => field = Positive(nameof(Clients), value, 256); } = 8;

    /// <summary>λ = L, the curvature. Range: &gt; 0. Default 1.</summary>
    public double Curvature { get; init => field = PositiveReal(nameof(Curvature), value); } = 1;

    /// <summary>η. Range: 0 &lt; η ≤ 1/L (the theorem's condition). Default 0.05.</summary>
    public double LearningRate { get; init => field = PositiveReal(nameof(LearningRate), value); } = 0.05;

    /// <summary>γ, the Laplace noise scale per coordinate (variance 2γ²). Range: &gt; 0. Default 1.</summary>
    public double NoiseScale { get; init => field = PositiveReal(nameof(NoiseScale), value); } = 1;

    /// <summary>Every coordinate of θ₀, in units of γ/λ (so ∇F(θ₀) = this·γ per coordinate). Range: finite. Default 1.</summary>
    public double InitialGradient { get; init => field = double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(InitialGradient), value, "InitialGradient must be finite."); } = 1;

    /// <summary>T, rounds per path. Range: 1..10⁶. Default 4000.</summary>
    public int Rounds { get; init => field = Positive(nameof(Rounds), value, 1_000_000); } = 4000;

    /// <summary>Independent paths per scheme. Range: 2..1024. Default 4.</summary>
    public int Replicas { get; init => field = value is >= 2 and <= 1024 ? value : throw new ArgumentOutOfRangeException(nameof(Replicas), value, "Replicas must be an integer from 2 to 1024."); } = 4;

    /// <summary>The seed of the noise and of the codec's rounding keys.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The schemes checked: the truncated ones at 2, 3 and 4 bits by default, plus full precision as the DSGD reference.</summary>
    public ImmutableArray<QuantizerSpec> Schemes { get; init; } =
    [
        new FullPrecision(),
        new TruncatedUniform(2), new TruncatedNonUniform(2), new TruncatedBiScaled(2),
        new TruncatedUniform(3), new TruncatedNonUniform(3), new TruncatedBiScaled(3),
        new TruncatedUniform(4), new TruncatedNonUniform(4), new TruncatedBiScaled(4),
    ];

    /// <summary>Every coordinate of θ₀: ∇F(θ₀) = λθ₀ = <see cref="InitialGradient"/>·γ per coordinate.</summary>
    public double InitialCoordinate => InitialGradient * NoiseScale / Curvature;

    /// <summary>F(θ₀) − F* = (λ/2)·d·θ₀² (F* = 0 at θ = 0).</summary>
    public double InitialLoss => 0.5 * Curvature * Dimension * InitialCoordinate * InitialCoordinate;

    /// <summary>Rounds excluded from the quantization-error average: 10 time constants 1/(ηλ), at most half of T.</summary>
    public int BurnIn => (int)Math.Min(Rounds / 2, Math.Ceiling(10 / (LearningRate * Curvature)));

    /// <summary>Checks the cross-field condition η ≤ 1/L; throws naming both values.</summary>
    public void Validate()
    {
        if (LearningRate * Curvature > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate,
                string.Create(CultureInfo.InvariantCulture, $"η = {LearningRate} exceeds 1/L = {1 / Curvature}: Theorem 1 (spec §2.4) needs η ≤ 1/L."));
        }
    }

    private static int Positive(string name, int value, int maximum) =>
        value >= 1 && value <= maximum ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be an integer from 1 to {maximum}.");

    private static double PositiveReal(string name, double value) =>
        double.IsFinite(value) && value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number > 0.");
}

/// <summary>
/// The measured and predicted figures of one scheme in the Theorem 1 check. "Per round" figures are squared norms of
/// d-vectors; "mean" means over rounds and replicas, with standard errors from the replicas' spread.
/// </summary>
/// <param name="Label">e.g. <c>tnq-3</c>.</param>
/// <param name="Spec">The scheme.</param>
/// <param name="GradientNormAverage">Measured (1/T)Σ‖∇F(θ_t)‖², mean over replicas: the theorem's left side.</param>
/// <param name="GradientNormStandardError">Its standard error over replicas.</param>
/// <param name="InitialTerm">2(F(θ₀) − F*)/(ηT), the optimisation part of E_DSGD.</param>
/// <param name="NoiseTerm">σ²/N with σ² = E‖g_i − ∇F‖² = 2γ²d, the noise part of E_DSGD.</param>
/// <param name="QuantizationTerm">E_TQ = (d/N)·J with J the design's error bound (Lemma 1 bound + M(α)).</param>
/// <param name="WorstPathwiseSlack">min over replicas of [path bound − left side], where the path bound is
/// 2(F(θ₀) − F(θ_T))/(ηT) + (1/T)Σ‖ĝ_t − ∇F(θ_t)‖²; ≥ 0 when the descent inequality holds path by path.</param>
/// <param name="QuantizationError">Measured ‖ĝ_t − ḡ_t‖² per round after burn-in (ĝ the decoded average, ḡ the
/// unquantized average of the same noisy gradients), mean over rounds and replicas.</param>
/// <param name="QuantizationStandardError">Its standard error (batch means, 20 batches per replica).</param>
/// <param name="ExpectedQuantizationError">(d/N)·(exact rounding variance + M(α)) of the design at the model: what the
/// measured error should equal when ∇F = 0.</param>
/// <param name="DesignError">J, the design's per-coordinate error bound (<see cref="QuantizerDesign.Error"/>).</param>
public sealed record Theorem1Row(
    string Label,
    QuantizerSpec Spec,
    double GradientNormAverage,
    double GradientNormStandardError,
    double InitialTerm,
    double NoiseTerm,
    double QuantizationTerm,
    double WorstPathwiseSlack,
    double QuantizationError,
    double QuantizationStandardError,
    double ExpectedQuantizationError,
    double DesignError)
{
    /// <summary>E_DSGD + E_TQ: the bound of Theorem 1 with the constants of spec §2.4.</summary>
    public double Bound => InitialTerm + NoiseTerm + QuantizationTerm;
}

/// <summary>
/// Theorem 1 of the truncated-quantization paper (spec §2.4), checked where its assumptions hold: runs quantized
/// distributed SGD through the real codec on the quadratic test bed and measures the left side, the path-by-path
/// descent inequality, and the per-round quantization error against the design.
/// </summary>
/// <remarks>
/// <para>The bound used, with its constants (spec §2.4 reconstructs the form; the weights are ours, stated here):
/// with η ≤ 1/L, F(θ_{t+1}) ≤ F(θ_t) − (η/2)‖∇F‖² + (η/2)‖ĝ_t − ∇F‖² holds for every path (L-smoothness, and
/// Lη² ≤ η), so (1/T)Σ‖∇F(θ_t)‖² ≤ 2(F(θ₀) − F(θ_T))/(ηT) + (1/T)Σ‖ĝ_t − ∇F(θ_t)‖². Taking expectations, with
/// client errors independent and zero-mean (A2, A3), E‖ĝ − ∇F‖² = (1/N)E‖Q(T(g)) − ∇F‖², which the theorem splits
/// into σ²/N (σ² = 2γ²d for Laplace noise) and (d/N)·J. The split drops the cross term between truncation and
/// noise, which is ≤ 0 at ∇F = 0 (clipping only shrinks |g|), so the bound is valid near the optimum; far from it
/// truncation is biased and the split is not justified — the check reports what it measures either way.</para>
/// <para>Every client's noise is a pure function of (seed, replica, round, client), shared by all schemes, so the
/// schemes are compared on common random numbers. The codec's rounding key is (seed + replica, round, client).</para>
/// </remarks>
public static class Theorem1Check
{
    /// <summary>Runs every scheme of <paramref name="settings"/> and returns one row per scheme, in order.</summary>
    /// <param name="settings">The test bed.</param>
    /// <param name="codec">The codec (its design cache is shared by the paths).</param>
    /// <param name="maxDegreeOfParallelism">Threads over (scheme, replica) paths (−1: the runtime's choice); the result does not depend on it.</param>
    public static ImmutableArray<Theorem1Row> Run(Theorem1Settings settings, GradientCodec codec, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(codec);
        settings.Validate();
        var model = new Laplace(settings.NoiseScale);
        QuantizerDesign[] designs = [.. settings.Schemes.Select(s => codec.Designs.GetOrDesign(s, model, settings.Dimension))];
        var paths = new PathResult[settings.Schemes.Length, settings.Replicas];
        Parallel.For(
            0,
            settings.Schemes.Length * settings.Replicas,
            new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
            index =>
            {
                int scheme = index / settings.Replicas;
                int replica = index % settings.Replicas;
                paths[scheme, replica] = RunPath(settings, codec, designs[scheme], replica);
            });

        var rows = ImmutableArray.CreateBuilder<Theorem1Row>(settings.Schemes.Length);
        int d = settings.Dimension;
        int n = settings.Clients;
        double gamma = settings.NoiseScale;
        for (int s = 0; s < settings.Schemes.Length; s++)
        {
            QuantizerDesign design = designs[s];
            PathResult[] replicas = [.. Enumerable.Range(0, settings.Replicas).Select(r => paths[s, r])];
            double[] left = [.. replicas.Select(p => p.GradientNormAverage)];
            double[] batches = [.. replicas.SelectMany(p => p.QuantizationBatchMeans)];
            rows.Add(new Theorem1Row(
                design.Spec.Label,
                design.Spec,
                AuditBand.Mean(left),
                AuditBand.StandardError(left),
                2 * settings.InitialLoss / (settings.LearningRate * settings.Rounds),
                2 * gamma * gamma * d / n,
                design.ConvergenceError(d, n),
                replicas.Min(p => p.PathBound - p.GradientNormAverage),
                AuditBand.Mean(batches),
                AuditBand.StandardError(batches),
                (double)d / n * (design.RoundingVariance + design.TruncationMse),
                design.Error));
        }
        return rows.MoveToImmutable();
    }

    private sealed record PathResult(double GradientNormAverage, double PathBound, double[] QuantizationBatchMeans);

    private const int BatchesPerReplica = 20;

    private static PathResult RunPath(Theorem1Settings settings, GradientCodec codec, QuantizerDesign design, int replica)
    {
        int d = settings.Dimension;
        int n = settings.Clients;
        double lambda = settings.Curvature;
        double eta = settings.LearningRate;
        double gamma = settings.NoiseScale;
        var theta = new double[d];
        Array.Fill(theta, settings.InitialCoordinate);
        var gradient = new float[d];
        var decodedSum = new float[d];
        var plainSum = new double[d];
        var payload = new byte[GradientCodec.GetMaxEncodedLength(design.Spec, d)];
        double gradientNormSum = 0;
        double deviationSum = 0;
        int burnIn = settings.BurnIn;
        int measured = settings.Rounds - burnIn;
        int batchLength = Math.Max(1, measured / BatchesPerReplica);
        var batchMeans = new List<double>(BatchesPerReplica + 1);
        double batchSum = 0;
        int batchCount = 0;
        var key = new RoundingKey(unchecked((ulong)(settings.Seed + replica)), 0, 0);
        for (int t = 0; t < settings.Rounds; t++)
        {
            Array.Clear(decodedSum);
            Array.Clear(plainSum);
            double gradientNorm = 0;
            for (int j = 0; j < d; j++)
            {
                double g = lambda * theta[j];
                gradientNorm += g * g;
            }
            for (int client = 0; client < n; client++)
            {
                // Common random numbers: the noise depends on (seed, replica, round, client), not on the scheme.
                SdeRandom random = SdeRandom.ForStream(
                    unchecked((ulong)settings.Seed),
                    ((ulong)(uint)replica << 40) | ((ulong)(uint)t << 8) | (uint)client);
                for (int j = 0; j < d; j++)
                {
                    float value = (float)((lambda * theta[j]) + random.NextLaplace(gamma));
                    gradient[j] = value;
                    plainSum[j] += value;
                }
                int length = codec.Encode(gradient, design, key with { Round = t, Client = client }, payload);
                codec.DecodeAccumulate(payload.AsSpan(0, length), decodedSum, 1f / n);
            }
            double deviation = 0;
            double quantization = 0;
            for (int j = 0; j < d; j++)
            {
                double fullGradient = lambda * theta[j];
                double decoded = decodedSum[j];
                deviation += (decoded - fullGradient) * (decoded - fullGradient);
                double error = decoded - (plainSum[j] / n);
                quantization += error * error;
                theta[j] -= eta * decoded;
            }
            gradientNormSum += gradientNorm;
            deviationSum += deviation;
            if (t >= burnIn)
            {
                batchSum += quantization;
                if (++batchCount == batchLength)
                {
                    batchMeans.Add(batchSum / batchLength);
                    batchSum = 0;
                    batchCount = 0;
                }
            }
        }
        double rounds = settings.Rounds;
        double pathBound = (2 * (settings.InitialLoss - Loss(theta, lambda)) / (eta * rounds)) + (deviationSum / rounds);
        return new PathResult(gradientNormSum / rounds, pathBound, [.. batchMeans]);
    }

    private static double Loss(double[] theta, double lambda)
    {
        double sum = 0;
        foreach (double value in theta)
        {
            sum += value * value;
        }
        return 0.5 * lambda * sum;
    }
}
