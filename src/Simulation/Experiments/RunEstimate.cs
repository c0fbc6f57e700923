using Verified.Simulation.Data;
using Verified.Simulation.Models;

namespace Verified.Simulation.Experiments;

/// <summary>
/// What a run will cost before it starts, from its spec and the data's shape alone (no libtorch allocation): d, the
/// resident memory the run adds to its process, and the order of magnitude of the time per round.
/// </summary>
/// <param name="Parameters">d, the model's parameter count (<see cref="ModelShapes.ParameterCount"/>).</param>
/// <param name="Bytes">Resident bytes the run adds to the process at its peak (training and evaluation); meant as an
/// upper-ish bound, calibrated against measured resident memory in docs/service.md.</param>
/// <param name="SecondsPerRound">Wall time of one round, to within a factor of about ten (CPUs differ that much).</param>
/// <remarks>
/// <para>With d parameters, W = min(workers, N) model replicas, batch B, A = <see cref="ModelShapes.ActivationsPerExample"/>,
/// F = <see cref="ModelShapes.ForwardFlopsPerExample"/>, p = rows·columns pixels and n training + test images, all
/// counted as 4-byte floats:</para>
/// <code>
/// bytes = 4·p·n                        normalised training and test images (one copy per run)
///       + W·(3·4·d + B·4·(p + k·A))    per replica: θ, its gradient, the flat gradient buffer; a minibatch's
///                                      input and activations, k = 3 (forward outputs, their gradients, workspace)
///       + 3·4·d                        the server's sum, momentum and checkpoint scratch
///       + N·4·d   (error feedback)     one residual per client
///       + 100·4·A                      evaluation batches of 100, without gradients
/// seconds per round = N·B·3·F / R + N·d·c   R = 5·10¹⁰ flop/s per worker (capped by the threads), c = 10 ns per
///                                           coordinate for fit, design, encode and decode-accumulate
/// </code>
/// <para>The process itself (runtime, libtorch, the raw data) is not a run's cost and is not counted.</para>
/// </remarks>
public sealed record RunEstimate(long Parameters, long Bytes, double SecondsPerRound)
{
    /// <summary>k: activation floats held per forward-pass float (outputs, their gradients in the backward pass, and
    /// libtorch's workspace); calibrated from measured peaks (docs/service.md).</summary>
    public const int ActivationFactor = 3;

    /// <summary>R: training throughput assumed per worker, in floating-point operations per second.</summary>
    public const double FlopsPerSecond = 5e10;

    /// <summary>c: codec time per coordinate per client (fit, design, encode, decode-accumulate).</summary>
    public const double CodecSecondsPerCoordinate = 1e-8;

    /// <summary>The estimate for <paramref name="spec"/> (valid) on images of <paramref name="rows"/>×<paramref name="columns"/>
    /// pixels, <paramref name="classes"/> classes, <paramref name="examples"/> training and test images in all, on a machine
    /// of <paramref name="processors"/> processors.</summary>
    /// <exception cref="FormatException">The spec's model does not parse.</exception>
    public static RunEstimate For(ExperimentSpec spec, int rows, int columns, int classes, long examples, int processors)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(examples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processors);
        ModelKind model = ModelFactory.Parse(spec.Model);
        long d = ModelShapes.ParameterCount(model, rows, columns, classes);
        long activations = ModelShapes.ActivationsPerExample(model, rows, columns, classes);
        double flops = ModelShapes.ForwardFlopsPerExample(model, rows, columns, classes);
        long pixels = (long)rows * columns;
        int replicas = Math.Max(1, Math.Min(spec.Workers, spec.Clients));
        const long F = sizeof(float);

        long bytes = checked((F * pixels * examples)
            + (replicas * ((3 * F * d) + (spec.BatchSize * F * (pixels + (ActivationFactor * activations)))))
            + (3 * F * d)
            + (spec.ErrorFeedback ? spec.Clients * F * d : 0)
            + (100 * F * activations));
        // More workers than threads share the cores; each worker runs one client at a time.
        double parallel = Math.Max(1, Math.Min(replicas * spec.Threads, processors));
        double seconds = (spec.Clients * (double)spec.BatchSize * 3 * flops / (FlopsPerSecond * parallel))
            + (spec.Clients * (double)d * CodecSecondsPerCoordinate);
        return new RunEstimate(d, bytes, seconds);
    }

    /// <summary>The estimate for <paramref name="spec"/> on <paramref name="data"/>.</summary>
    public static RunEstimate For(ExperimentSpec spec, ImageDataSet data, int processors)
    {
        ArgumentNullException.ThrowIfNull(data);
        IdxImages images = data.Train.Images;
        return For(spec, images.Rows, images.Columns, data.ClassCount, (long)data.Train.Count + data.Test.Count, processors);
    }
}
