using System.Collections.Immutable;
using Verified.Theory.Sampling;

namespace Verified.Sde;

/// <summary>What one <see cref="TestBedRun"/> measured.</summary>
/// <param name="Run">The run.</param>
/// <param name="Times">SDE time t of each recorded point (t = k·step time, k = 0, RecordEvery, …).</param>
/// <param name="MeanLoss">f(x_k) averaged over the replicas at each recorded point.</param>
/// <param name="LossStandardError">Replica-to-replica standard deviation of f(x_k) / √R at each point (0 when R = 1).</param>
/// <param name="StationaryLoss">The time- and replica-averaged f over the steps after the burn-in.</param>
/// <param name="StationaryStandardError">
/// Its standard error by batch means: each replica's window is cut into <c>Batches</c> equal batches, and the
/// standard deviation of all R·Batches batch means is divided by √(R·Batches). Replicas are independent, and batches
/// much longer than the loss's autocorrelation time (≈ 1/(2·contraction per step)) are nearly so, which is what
/// corrects for autocorrelation; <see cref="BatchLagOneCorrelation"/> reports how nearly.
/// </param>
/// <param name="BatchLagOneCorrelation">Lag-1 correlation of consecutive batch means within replicas (≈ 0 when the batches are long enough).</param>
/// <param name="MomentWindowLengths">Window lengths W_j = (Steps − BurnIn)/4^(J−j), j = 0..J.</param>
/// <param name="SecondMoments">
/// Per replica, the mean of ‖x‖²/d over each of the 4^J consecutive blocks of W_0 steps after the burn-in (the
/// heavy-tail "does it settle" statistic is built from them); empty when <c>MomentWindows</c> = 0.
/// </param>
/// <param name="Diverged">Whether some replica's x left the finite doubles (its later points are +∞).</param>
public sealed record TestBedResult(
    TestBedRun Run,
    ImmutableArray<double> Times,
    ImmutableArray<double> MeanLoss,
    ImmutableArray<double> LossStandardError,
    double StationaryLoss,
    double StationaryStandardError,
    double BatchLagOneCorrelation,
    ImmutableArray<int> MomentWindowLengths,
    ImmutableArray<ImmutableArray<double>> SecondMoments,
    bool Diverged)
{
    /// <summary>
    /// The median, over every replica's consecutive blocks of W_j steps, of the block mean of ‖x‖²/d: at j = J one
    /// block per replica (the whole window), at j = 0 all R·4^J shortest blocks.
    /// </summary>
    public double MedianSecondMoment(int window)
    {
        int group = 1 << (2 * window);
        var means = new List<double>();
        foreach (ImmutableArray<double> blocks in SecondMoments)
        {
            for (int start = 0; start + group <= blocks.Length; start += group)
            {
                double sum = 0;
                for (int b = start; b < start + group; b++)
                {
                    sum += blocks[b];
                }
                means.Add(sum / group);
            }
        }
        return Median([.. means]);
    }

    internal static double Median(double[] values)
    {
        Array.Sort(values);
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[(n / 2) - 1] + values[n / 2]);
    }
}

/// <summary>
/// Runs the quadratic test bed: R replicas in parallel, replica r drawing from <c>SdeRandom.ForStream(seed, r)</c>, so
/// the result depends on the seed only, not on the thread count. The step loop does not allocate.
/// </summary>
public static class QuadraticTestBed
{
    /// <summary>Runs <paramref name="run"/> with the replicas' generators derived from <paramref name="seed"/>.</summary>
    /// <param name="run">What to run; validated here.</param>
    /// <param name="seed">The seed of every draw.</param>
    /// <param name="maxDegreeOfParallelism">Threads over replicas (−1: the runtime's choice); does not change the result.</param>
    public static TestBedResult Run(TestBedRun run, ulong seed, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(run);
        run.Validate();
        int replicas = run.Replicas;
        int points = (run.Steps / run.RecordEvery) + 1;
        int window = run.Steps - run.BurnIn;
        int batchLength = window / run.Batches;
        int windows = run.MomentWindows;
        var lengths = windows == 0
            ? ImmutableArray<int>.Empty
            : [.. Enumerable.Range(0, windows + 1).Select(j => window >> (2 * (windows - j)))];
        double[][] trajectories = new double[replicas][];
        double[][] batchMeans = new double[replicas][];
        double[][] moments = new double[replicas][];
        bool[] diverged = new bool[replicas];
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
        Parallel.For(0, replicas, options, r =>
        {
            var random = SdeRandom.ForStream(seed, (ulong)r);
            var trajectory = new double[points];
            var batches = new double[run.Batches];
            var moment = new double[windows == 0 ? 0 : 1 << (2 * windows)];
            diverged[r] = RunReplica(run, Stepper.Create(run), random, trajectory, batches, batchLength, windows == 0 ? 0 : lengths[0], moment);
            trajectories[r] = trajectory;
            batchMeans[r] = batches;
            moments[r] = moment;
        });

        var mean = new double[points];
        var error = new double[points];
        for (int k = 0; k < points; k++)
        {
            (mean[k], double sd) = MeanAndStandardDeviation(trajectories.Select(t => t[k]));
            error[k] = replicas > 1 ? sd / Math.Sqrt(replicas) : 0;
        }
        (double stationary, double batchSd) = MeanAndStandardDeviation(batchMeans.SelectMany(b => b));
        double stationaryError = batchSd / Math.Sqrt(replicas * run.Batches);
        return new TestBedResult(
            run,
            [.. Enumerable.Range(0, points).Select(k => k * run.RecordEvery * run.StepTime)],
            [.. mean],
            [.. error],
            stationary,
            stationaryError,
            LagOneCorrelation(batchMeans, stationary),
            lengths,
            [.. moments.Select(m => m.ToImmutableArray())],
            diverged.Any(d => d));
    }

    /// <summary>Mean and sample standard deviation (0 for one value); +∞ when any value is.</summary>
    internal static (double Mean, double StandardDeviation) MeanAndStandardDeviation(IEnumerable<double> values)
    {
        double[] v = [.. values];
        double mean = v.Average();
        if (v.Length < 2 || !double.IsFinite(mean))
        {
            return (mean, double.IsFinite(mean) ? 0 : double.PositiveInfinity);
        }
        double sum = 0;
        foreach (double x in v)
        {
            sum += (x - mean) * (x - mean);
        }
        return (mean, Math.Sqrt(sum / (v.Length - 1)));
    }

    private static bool RunReplica(
        TestBedRun run, Stepper stepper, SdeRandom random, double[] trajectory, double[] batches, int batchLength,
        int blockLength, double[] moments)
    {
        QuadraticProblem problem = run.Problem;
        var x = new double[problem.Dimension];
        Array.Fill(x, run.InitialValue);
        double inverseDimension = 1.0 / problem.Dimension;
        int nextWindow = 0; // the moment block being summed
        trajectory[0] = problem.Loss(x);
        for (int k = 1; k <= run.Steps; k++)
        {
            stepper.Step(x, random);
            double loss = problem.Loss(x);
            if (!double.IsFinite(loss))
            {
                FillDiverged(run, k, trajectory, batches, moments, nextWindow, blockLength);
                return true;
            }
            if (k % run.RecordEvery == 0)
            {
                trajectory[k / run.RecordEvery] = loss;
            }
            int sinceBurnIn = k - run.BurnIn;
            if (sinceBurnIn >= 1)
            {
                int batch = (sinceBurnIn - 1) / batchLength;
                if (batch < batches.Length)
                {
                    batches[batch] += loss;
                }
                if (blockLength > 0)
                {
                    int block = (sinceBurnIn - 1) / blockLength;
                    if (block < moments.Length)
                    {
                        moments[block] += 2 * loss * inverseDimension / problem.Curvature;
                        nextWindow = block;
                    }
                }
            }
        }
        for (int b = 0; b < batches.Length; b++)
        {
            batches[b] /= batchLength;
        }
        for (int b = 0; b < moments.Length; b++)
        {
            moments[b] /= blockLength;
        }
        return false;
    }

    private static void FillDiverged(TestBedRun run, int step, double[] trajectory, double[] batches, double[] moments, int nextWindow, int blockLength)
    {
        for (int w = 0; w < nextWindow; w++)
        {
            moments[w] /= blockLength;
        }
        for (int p = (step + run.RecordEvery - 1) / run.RecordEvery; p < trajectory.Length; p++)
        {
            trajectory[p] = double.PositiveInfinity;
        }
        Array.Fill(batches, double.PositiveInfinity);
        for (int w = nextWindow; w < moments.Length; w++)
        {
            moments[w] = double.PositiveInfinity;
        }
    }

    private static double LagOneCorrelation(double[][] batchMeans, double mean)
    {
        double numerator = 0;
        double denominator = 0;
        foreach (double[] b in batchMeans)
        {
            for (int i = 0; i < b.Length; i++)
            {
                double centred = b[i] - mean;
                denominator += centred * centred;
                if (i > 0)
                {
                    numerator += centred * (b[i - 1] - mean);
                }
            }
        }
        return denominator > 0 && double.IsFinite(denominator) ? numerator / denominator : double.NaN;
    }
}
