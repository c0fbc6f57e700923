using System.Globalization;
using Verified.Theory;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>
/// The quadratic test bed of spec §4.4: f(x) = ½λ‖x‖² (H = λI) on ℝ^d, N identical agents, each with per-agent batch
/// B, so agent i sees ∇f(x) + Z_i with i.i.d. per-coordinate noise of scale σ/√B (σ per sample, spec §4.2).
/// </summary>
/// <remarks>Validated in the constructor and in <c>with</c>. Ranges: d ≥ 1, λ &gt; 0, N ≥ 1, B &gt; 0.</remarks>
public sealed record QuadraticProblem
{
    /// <summary>Creates the problem; see the ranges in the remarks.</summary>
    public QuadraticProblem(int dimension, double curvature, int agents, double batch, NoiseModel noise)
    {
        Dimension = dimension;
        Curvature = curvature;
        Agents = agents;
        Batch = batch;
        Noise = noise;
    }

    /// <summary>d. Range: d ≥ 1.</summary>
    public int Dimension { get; init => field = value >= 1 ? value : throw Bad(nameof(Dimension), value, "an integer ≥ 1"); }

    /// <summary>λ, the curvature. Range: λ &gt; 0, finite.</summary>
    public double Curvature { get; init => field = value > 0 && double.IsFinite(value) ? value : throw Bad(nameof(Curvature), value, "a finite number > 0"); }

    /// <summary>N, the agents. Range: N ≥ 1.</summary>
    public int Agents { get; init => field = value >= 1 ? value : throw Bad(nameof(Agents), value, "an integer ≥ 1"); }

    /// <summary>B, the per-agent batch. Range: B &gt; 0, finite.</summary>
    public double Batch { get; init => field = value > 0 && double.IsFinite(value) ? value : throw Bad(nameof(Batch), value, "a finite number > 0"); }

    /// <summary>The per-sample noise (σ, ν): none is σ = 0, Gaussian is ν = +∞.</summary>
    public NoiseModel Noise { get; init => field = value ?? throw new ArgumentNullException(nameof(Noise)); }

    /// <summary>The noise of one agent's minibatch gradient: scale σ/√B, same ν (the σ of spec §4.4's formulas).</summary>
    public NoiseModel AgentNoise => Noise with { Scale = Noise.Scale / Math.Sqrt(Batch) };

    /// <summary>f(x) = ½λ‖x‖².</summary>
    public double Loss(ReadOnlySpan<double> x)
    {
        double sum = 0;
        foreach (double v in x)
        {
            sum += v * v;
        }
        return 0.5 * Curvature * sum;
    }

    private static ArgumentOutOfRangeException Bad(string name, object value, string allowed) =>
        new(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be {allowed}."));
}

/// <summary>The three algorithms of spec §4.1.</summary>
public abstract record SdeMethod
{
    private protected SdeMethod()
    {
    }

    /// <summary>DSGD: x_{k+1} = x_k − (η/N)Σ_i ∇f_{γ_i}(x_k).</summary>
    public static SdeMethod Dsgd { get; } = new DsgdMethod();

    /// <summary>DSignSGD: the server averages the agents' unit signs, x_{k+1} = x_k − (η/N)Σ_i sign(∇f_{γ_i}(x_k)).</summary>
    public static SdeMethod DSignSgd { get; } = new DSignSgdMethod();

    /// <summary>DCSGD with an unbiased sparsifier: x_{k+1} = x_k − (η/N)Σ_i C_{ξ_i}(∇f_{γ_i}(x_k)).</summary>
    public static SdeMethod Dcsgd(SparsifierSpec compressor) => new DcsgdMethod(compressor);

    /// <summary>A short label: dsgd, dcsgd(bernoulli q=0.5), dcsgd(rand-2), dsignsgd.</summary>
    public abstract string Label { get; }

    /// <summary>ω of the method's compressor on d coordinates (0 for DSGD; not defined for DSignSGD).</summary>
    public virtual double Omega(int dimension) => 0;
}

/// <summary>DSGD (spec §4.1).</summary>
public sealed record DsgdMethod : SdeMethod
{
    internal DsgdMethod()
    {
    }

    /// <inheritdoc />
    public override string Label => "dsgd";
}

/// <summary>DSignSGD with server averaging (spec §4.1).</summary>
public sealed record DSignSgdMethod : SdeMethod
{
    internal DSignSgdMethod()
    {
    }

    /// <inheritdoc />
    public override string Label => "dsignsgd";
}

/// <summary>DCSGD with one of Theory's unbiased sparsifiers (spec §4.1), the same for every agent.</summary>
public sealed record DcsgdMethod : SdeMethod
{
    internal DcsgdMethod(SparsifierSpec compressor) => Compressor = compressor ?? throw new ArgumentNullException(nameof(compressor));

    /// <summary>C_ξ.</summary>
    public SparsifierSpec Compressor { get; }

    /// <inheritdoc />
    public override string Label => Compressor switch
    {
        BernoulliSparsification b => string.Create(CultureInfo.InvariantCulture, $"dcsgd(bernoulli q={b.KeepProbability:0.###})"),
        // The spec is dimension-free; d is the problem's (SdeRun.Label names the run).
        RandKSparsification r => string.Create(CultureInfo.InvariantCulture, $"dcsgd(rand-{r.Kept})"),
        _ => "dcsgd",
    };

    /// <inheritdoc />
    public override double Omega(int dimension) => Compressor.Omega(dimension);
}

/// <summary>How a run advances x: the discrete algorithm, or Euler–Maruyama on its SDE (spec §4.3).</summary>
public enum Integrator
{
    /// <summary>The algorithm of spec §4.1, step η, time t = kη.</summary>
    Discrete,

    /// <summary>Euler–Maruyama on the SDE of spec §4.3 with step h in SDE time (default h = η).</summary>
    EulerMaruyama,

    /// <summary>
    /// The discrete algorithm with every agent's upload encoded and decode-accumulated by the real codec
    /// (<c>Verified.Codec</c>): DCSGD's sparsifier as a bernoulli:Q / randk:K payload, DSignSGD's sign as a usign
    /// payload, DSGD as float32. Step η, time t = kη; the same law as <see cref="Discrete"/>, through the wire format.
    /// </summary>
    Codec,
}

/// <summary>
/// One test-bed run: R independent replicas of <see cref="Steps"/> steps from x₀ = (x₀, …, x₀).
/// </summary>
/// <remarks>
/// Time is SDE time t: a discrete step advances it by η, an Euler–Maruyama step by h. The stationary window is the
/// steps after <see cref="BurnIn"/>, cut into <see cref="Batches"/> equal batches per replica for the batch-means
/// standard error. Ranges: η &gt; 0, h &gt; 0, steps ≥ 1, 0 ≤ burn-in &lt; steps, replicas ≥ 1, record every ≥ 1,
/// batches ≥ 2 with at least one step each.
/// </remarks>
public sealed record TestBedRun(
    QuadraticProblem Problem,
    SdeMethod Method,
    Integrator Integrator,
    double LearningRate,
    int Steps,
    int BurnIn,
    int Replicas,
    double InitialValue = 0,
    double? SdeStep = null,
    int RecordEvery = 100,
    int Batches = 20,
    int MomentWindows = 0)
{
    /// <summary>The time one step advances: η (discrete) or h (Euler–Maruyama; default η).</summary>
    public double StepTime => Integrator == Integrator.EulerMaruyama ? SdeStep ?? LearningRate : LearningRate;

    /// <summary>A label such as "dsgd discrete" or "dsignsgd EM h=0.01".</summary>
    public string Label => Integrator switch
    {
        Integrator.Discrete => $"{Method.Label} discrete",
        Integrator.Codec => $"{Method.Label} through the codec",
        _ => string.Create(CultureInfo.InvariantCulture, $"{Method.Label} EM h={StepTime:0.#####}"),
    };

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Problem);
        ArgumentNullException.ThrowIfNull(Method);
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "a finite number > 0");
        Check(StepTime > 0 && double.IsFinite(StepTime), nameof(SdeStep), StepTime, "a finite number > 0");
        Check(Steps >= 1, nameof(Steps), Steps, "an integer ≥ 1");
        Check(BurnIn >= 0 && BurnIn < Steps, nameof(BurnIn), BurnIn, "an integer from 0 to Steps − 1");
        Check(Replicas >= 1, nameof(Replicas), Replicas, "an integer ≥ 1");
        Check(RecordEvery >= 1, nameof(RecordEvery), RecordEvery, "an integer ≥ 1");
        Check(Batches >= 2 && (Steps - BurnIn) / Batches >= 1, nameof(Batches), Batches, "an integer ≥ 2 with at least one step per batch");
        Check(MomentWindows >= 0 && (Steps - BurnIn) >> (2 * MomentWindows) >= 1, nameof(MomentWindows), MomentWindows,
            "an integer ≥ 0 with (Steps − BurnIn)/4^windows ≥ 1");
        Check(double.IsFinite(InitialValue), nameof(InitialValue), InitialValue, "a finite number");
        if (Integrator == Integrator.EulerMaruyama && Method is not DSignSgdMethod && double.IsPositiveInfinity(Problem.Noise.Variance))
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The {Method.Label} SDE has no diffusion for Student-t ν = {Problem.Noise.DegreesOfFreedom}: Var = ∞ for ν ≤ 2 (spec §4.4 item 3); run it discrete."),
                nameof(Integrator));
        }
    }

    private static void Check(bool ok, string name, object value, string allowed)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, string.Create(CultureInfo.InvariantCulture, $"{name} = {value} is out of range: it must be {allowed}."));
        }
    }
}
