using Verified.Codec;
using Verified.Theory;
using Verified.Theory.Sampling;
using Verified.Theory.Sde;

namespace Verified.Sde;

/// <summary>One step of x for one replica. Owns its buffers, so <see cref="Step"/> does not allocate.</summary>
internal abstract class Stepper
{
    public abstract void Step(Span<double> x, SdeRandom random);

    public static Stepper Create(TestBedRun run)
    {
        QuadraticProblem p = run.Problem;
        NoiseModel noise = p.AgentNoise;
        var sampler = new StudentTSampler(noise.Scale, noise.DegreesOfFreedom);
        double eta = run.LearningRate;
        if (run.Integrator == Integrator.Discrete)
        {
            return run.Method switch
            {
                DsgdMethod => new DiscreteDsgd(p, eta, sampler),
                DcsgdMethod c => new DiscreteDcsgd(p, eta, sampler, c.Compressor),
                DSignSgdMethod => new DiscreteDSign(p, eta, sampler),
                _ => throw new ArgumentException($"Unknown method {run.Method}.", nameof(run)),
            };
        }
        if (run.Integrator == Integrator.Codec)
        {
            return new CodecStepper(p, eta, sampler, run.Method);
        }
        double h = run.StepTime;
        return run.Method switch
        {
            DsgdMethod => new EulerMaruyamaDcsgd(p, eta, h, noise.Variance, omega: 0),
            DcsgdMethod c => new EulerMaruyamaDcsgd(p, eta, h, noise.Variance, c.Omega(p.Dimension)),
            DSignSgdMethod => new EulerMaruyamaDSign(p, eta, h, SignDriftTable.For(noise)),
            _ => throw new ArgumentException($"Unknown method {run.Method}.", nameof(run)),
        };
    }
}

/// <summary>x ← x − (η/N)Σ_i (λx + Z_i).</summary>
internal sealed class DiscreteDsgd(QuadraticProblem problem, double eta, StudentTSampler noise) : Stepper
{
    private readonly double _lambda = problem.Curvature;
    private readonly int _agents = problem.Agents;

    public override void Step(Span<double> x, SdeRandom random)
    {
        double scale = eta / _agents;
        for (int j = 0; j < x.Length; j++)
        {
            double gradient = _lambda * x[j];
            double sum = 0;
            for (int i = 0; i < _agents; i++)
            {
                sum += gradient + noise.Next(random);
            }
            x[j] -= scale * sum;
        }
    }
}

/// <summary>x ← x − (η/N)Σ_i C_{ξ_i}(λx + Z_i), C one of Theory's sparsifiers (float spans, as on the wire).</summary>
internal sealed class DiscreteDcsgd(QuadraticProblem problem, double eta, StudentTSampler noise, SparsifierSpec compressor) : Stepper
{
    private readonly double _lambda = problem.Curvature;
    private readonly int _agents = problem.Agents;
    private readonly float[] _gradient = new float[problem.Dimension];
    private readonly float[] _compressed = new float[problem.Dimension];
    private readonly double[] _sum = new double[problem.Dimension];

    public override void Step(Span<double> x, SdeRandom random)
    {
        Array.Clear(_sum);
        for (int i = 0; i < _agents; i++)
        {
            for (int j = 0; j < x.Length; j++)
            {
                _gradient[j] = (float)((_lambda * x[j]) + noise.Next(random));
            }
            compressor.Compress(_gradient, _compressed, random);
            for (int j = 0; j < x.Length; j++)
            {
                _sum[j] += _compressed[j];
            }
        }
        double scale = eta / _agents;
        for (int j = 0; j < x.Length; j++)
        {
            x[j] -= scale * _sum[j];
        }
    }
}

/// <summary>
/// The discrete algorithm through the wire: agent i encodes λx + Z_i with the codec (key: a per-step seed drawn from
/// the replica's generator, round = step, client = i) and the server decode-accumulates with weight 1/N, then
/// x ← x − η·(that average). The spec of each method: DSGD fp, DCSGD bernoulli:q or randk:k, DSignSGD usign.
/// </summary>
internal sealed class CodecStepper : Stepper
{
    private static readonly GradientCodec s_codec = new();
    private readonly double _lambda;
    private readonly int _agents;
    private readonly double _eta;
    private readonly StudentTSampler _noise;
    private readonly QuantizerDesign _design;
    private readonly float[] _gradient;
    private readonly float[] _average;
    private readonly byte[] _payload;
    private int _round;

    public CodecStepper(QuadraticProblem problem, double eta, StudentTSampler noise, SdeMethod method)
    {
        _lambda = problem.Curvature;
        _agents = problem.Agents;
        _eta = eta;
        _noise = noise;
        QuantizerSpec spec = method switch
        {
            DsgdMethod => new FullPrecision(),
            DSignSgdMethod => new Sign { Magnitude = SignMagnitude.Unit },
            // DCSGD's compressor is the codec's spec itself: the same sparsifier, drawn with the codec's key.
            DcsgdMethod { Compressor: var sparsifier } => sparsifier,
            _ => throw new ArgumentException($"The codec has no payload for {method.Label}.", nameof(method)),
        };
        // The model only sets the design's predicted error (these payloads do not depend on it): the noise's scale.
        _design = s_codec.Designs.GetOrDesign(spec, new Gaussian(noise.Scale), problem.Dimension);
        _gradient = new float[problem.Dimension];
        _average = new float[problem.Dimension];
        _payload = new byte[GradientCodec.GetMaxEncodedLength(spec, problem.Dimension)];
    }

    public override void Step(Span<double> x, SdeRandom random)
    {
        Array.Clear(_average);
        var key = new RoundingKey(random.NextUInt64(), _round++, 0);
        float weight = 1f / _agents;
        for (int i = 0; i < _agents; i++)
        {
            for (int j = 0; j < x.Length; j++)
            {
                _gradient[j] = (float)((_lambda * x[j]) + _noise.Next(random));
            }
            int length = s_codec.Encode(_gradient, _design, key with { Client = i }, _payload);
            s_codec.DecodeAccumulate(_payload.AsSpan(0, length), _average, weight);
        }
        for (int j = 0; j < x.Length; j++)
        {
            x[j] -= _eta * _average[j];
        }
    }
}

/// <summary>x ← x − (η/N)Σ_i sign(λx + Z_i): the server averages unit signs (sign 0 = 0).</summary>
internal sealed class DiscreteDSign(QuadraticProblem problem, double eta, StudentTSampler noise) : Stepper
{
    private readonly double _lambda = problem.Curvature;
    private readonly int _agents = problem.Agents;

    public override void Step(Span<double> x, SdeRandom random)
    {
        double scale = eta / _agents;
        for (int j = 0; j < x.Length; j++)
        {
            double gradient = _lambda * x[j];
            int sum = 0;
            for (int i = 0; i < _agents; i++)
            {
                sum += Math.Sign(gradient + noise.Next(random));
            }
            x[j] -= scale * sum;
        }
    }
}

/// <summary>
/// Euler–Maruyama on the DCSGD SDE of spec §4.3 with the sparsifier covariance Φ = ω·diag(∇f² + diag Σ): per
/// coordinate x ← x − hλx + √(h·(η/N)·(Var + ω(λ²x² + Var)))·ξ. ω = 0 is the DSGD SDE (diffusion² (η/N)Var).
/// </summary>
internal sealed class EulerMaruyamaDcsgd(QuadraticProblem problem, double eta, double h, double variance, double omega) : Stepper
{
    private readonly double _lambda = problem.Curvature;
    private readonly double _diffusionFactor = h * eta / problem.Agents;

    public override void Step(Span<double> x, SdeRandom random)
    {
        for (int j = 0; j < x.Length; j++)
        {
            double gradient = _lambda * x[j];
            double diffusion2 = _diffusionFactor * (variance + (omega * ((gradient * gradient) + variance)));
            x[j] += (-h * gradient) + (Math.Sqrt(diffusion2) * random.NextGaussian());
        }
    }
}

/// <summary>
/// Euler–Maruyama on the DSignSGD SDE of spec §4.3 with identical agents: drift −m(λx) (m the sign mean of
/// <see cref="SignDrift"/>), diffusion² (η/N)(1 − m²), per coordinate.
/// </summary>
internal sealed class EulerMaruyamaDSign(QuadraticProblem problem, double eta, double h, SignDriftTable drift) : Stepper
{
    private readonly double _lambda = problem.Curvature;
    private readonly double _diffusionFactor = h * eta / problem.Agents;

    public override void Step(Span<double> x, SdeRandom random)
    {
        for (int j = 0; j < x.Length; j++)
        {
            double m = drift.Evaluate(_lambda * x[j]);
            double diffusion2 = _diffusionFactor * Math.Max(0, 1 - (m * m));
            x[j] += (-h * m) + (Math.Sqrt(diffusion2) * random.NextGaussian());
        }
    }
}

/// <summary>
/// <see cref="SignDrift.StudentT"/> (Gaussian for ν = ∞) tabulated on |g|/σ ∈ [0, 40] with step 1/1024 and linear
/// interpolation (error ≤ Δ²/8·max|m''| &lt; 1e-7, checked by a property test against SignDrift); odd in g; beyond the
/// table and for σ = 0 it calls SignDrift itself. Immutable and thread-safe.
/// </summary>
internal sealed class SignDriftTable
{
    private const double Step = 1.0 / 1024;
    private const double Extent = 40;
    private readonly double[] _values;
    private readonly NoiseModel _noise;
    private readonly double _inverseScale;

    private SignDriftTable(NoiseModel noise)
    {
        _noise = noise;
        _inverseScale = noise.Scale > 0 ? 1 / noise.Scale : 0;
        int count = (int)(Extent / Step) + 2;
        _values = new double[count];
        if (noise.Scale > 0)
        {
            for (int k = 0; k < count; k++)
            {
                _values[k] = SignDrift.StudentT(k * Step, 1, noise.DegreesOfFreedom);
            }
        }
    }

    public static SignDriftTable For(NoiseModel noise) => new(noise);

    /// <summary>m(g) = E[sign(g + noise)].</summary>
    public double Evaluate(double gradient)
    {
        if (_inverseScale == 0)
        {
            return Math.Sign(gradient);
        }
        double y = Math.Abs(gradient) * _inverseScale;
        if (!(y < Extent))
        {
            return double.IsFinite(gradient) ? _noise.SignMean(gradient) : Math.Sign(gradient);
        }
        double position = y / Step;
        int k = (int)position;
        double fraction = position - k;
        double value = _values[k] + (fraction * (_values[k + 1] - _values[k]));
        return gradient < 0 ? -value : value;
    }
}
