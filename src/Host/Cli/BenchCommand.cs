using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Verified.Codec;
using Verified.Simulation.Baselines;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace Verified.Host.Cli;

/// <summary><c>verified bench codec</c>: a quick in-process throughput measurement of the codec and its baselines.</summary>
/// <remarks>For rigorous numbers (warm-up, outliers, allocation) use bench/Verified.Benchmarks (BenchmarkDotNet).</remarks>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("bench", "Measure throughput on this machine.");
        var seconds = new Option<double>("--seconds") { Description = "Measured time per case in seconds (the same again is spent warming up).", DefaultValueFactory = _ => 0.2 };
        var dimension = new Option<int>("--dimension") { Description = "Coordinates per vector d.", DefaultValueFactory = _ => 1 << 22 };
        var pathOption = new Option<string?>("--path") { Description = "Kernel path: scalar, v128, v256 or v512 (default: the best, or VERIFIED_CODEC_PATH)." };
        var quick = new Option<bool>("--quick") { Description = "Only tnq and tuq at b = 3 (the targets) and the baselines." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var codec = new Command("codec", "Encode, decode and decode-accumulate throughput (million coordinates per second, one thread) for every scheme and b ∈ {1, 2, 3, 4, 8}, next to the scalar path, a memory copy and the same quantizer in TorchSharp tensor ops.")
        {
            seconds, dimension, pathOption, quick, json,
        };
        codec.SetAction(parse =>
        {
            double budget = parse.GetValue(seconds);
            int d = parse.GetValue(dimension);
            if (!(budget > 0) || budget > 60)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified bench codec: --seconds = {budget} is out of range: it must be a number in (0, 60]."));
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            if (d is < 16 or > 1 << 28)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verified bench codec: --dimension = {d} is out of range: it must be an integer from 16 to {1 << 28}."));
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            CodecPath path;
            try
            {
                path = parse.GetValue(pathOption) is { } text
                    ? CodecPaths.TryParse(text, out CodecPath parsed) && CodecPaths.IsAvailable(parsed) ? parsed : throw new InvalidOperationException($"--path '{text}' is not an available path ({string.Join(", ", CodecPaths.Available.Select(CodecPaths.Name))}).")
                    : CodecPaths.Default();
            }
            catch (InvalidOperationException exception)
            {
                error.WriteLine($"verified bench codec: {exception.Message}");
                return VerifiedCli.InvalidArgumentsExitCode;
            }
            List<BenchResult> results = Run(d, budget, path, parse.GetValue(quick), parse.GetValue(json) ? null : output);
            if (parse.GetValue(json))
            {
                WriteJson(output, d, path, results);
            }
            return 0;
        });
        command.Subcommands.Add(codec);
        return command;
    }

    private sealed record BenchResult(string Name, int Bits, string Path, string Operation, double CoordinatesPerSecond, long Bytes);

    private static List<BenchResult> Run(int d, double seconds, CodecPath path, bool quick, TextWriter? table)
    {
        float[] gradient = LaplaceSampler.Vector(d, 0.01, 1);
        var sum = new float[d];
        var decoded = new float[d];
        var copy = new float[d];
        var results = new List<BenchResult>();
        var model = ModelFit.Laplace(gradient);
        table?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"d = {d}, one thread, path {CodecPaths.Name(path)} (available: {string.Join(", ", CodecPaths.Available.Select(CodecPaths.Name))}); million coordinates per second"));
        table?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"case",-22}{"path",-8}{"encode",10}{"decode",10}{"dec+acc",10}{"bytes",12}"));

        void Report(string name, int bits, string pathName, double encode, double decode, double accumulate, long bytes)
        {
            results.Add(new BenchResult(name, bits, pathName, "encode", encode, bytes));
            results.Add(new BenchResult(name, bits, pathName, "decode", decode, bytes));
            results.Add(new BenchResult(name, bits, pathName, "decodeAccumulate", accumulate, bytes));
            table?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name + (bits > 0 ? $" b={bits}" : string.Empty),-22}{pathName,-8}{encode / 1e6,10:0}{decode / 1e6,10:0}{accumulate / 1e6,10:0}{bytes,12}"));
        }

        WarmUpJit(gradient, model, decoded, sum);
        double memcpy = Measure(() => gradient.AsSpan().CopyTo(copy), d, seconds);
        results.Add(new BenchResult("memcpy", 32, "-", "copy", memcpy, 4L * d));
        table?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"memory copy (float32)",-22}{"-",-8}{memcpy / 1e6,10:0}{"",10}{"",10}{4L * d,12}"));

        foreach ((QuantizerSpec spec, bool scalarBaseline) in Cases(quick))
        {
            QuantizerDesign design = Quantizers.Design(spec, model, d);
            foreach (CodecPath p in scalarBaseline && path != CodecPath.Scalar ? new[] { path, CodecPath.Scalar } : [path])
            {
                var codec = new GradientCodec(new CodecOptions { Path = p });
                byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(spec, d)];
                var key = new RoundingKey(1, 0, 0);
                double encode = Measure(() => codec.Encode(gradient, design, key, payload), d, seconds);
                // Sparse payloads are shorter than the worst case GetMaxEncodedLength allows for.
                int length = codec.Encode(gradient, design, key, payload);
                double decode = Measure(() => codec.Decode(payload.AsSpan(0, length), decoded), d, seconds);
                double accumulate = Measure(() => codec.DecodeAccumulate(payload.AsSpan(0, length), sum, 0.125f), d, seconds);
                // A sparsifier's label carries its parameter (bernoulli-0.25); its wire bits (33) are a worst case, not a width.
                bool sparse = spec is SparsifierSpec;
                Report(sparse ? spec.Label : spec.Name, sparse ? 0 : spec.BitsPerCoordinate, CodecPaths.Name(p), encode, decode, accumulate, length);
            }
            if (scalarBaseline)
            {
                // The third baseline, for the cases that carry the scalar one: tensor ops, one uint8 code per coordinate.
                using var tensors = new TensorOpQuantizer(design, gradient);
                double encode = Measure(tensors.Encode, d, seconds);
                double decode = Measure(tensors.Decode, d, seconds);
                double accumulate = Measure(() => tensors.DecodeAccumulate(0.125f), d, seconds);
                Report(spec.Name, spec.BitsPerCoordinate, "torch", encode, decode, accumulate, d);
            }
        }
        return results;
    }

    private static IEnumerable<(QuantizerSpec Spec, bool ScalarBaseline)> Cases(bool quick)
    {
        yield return (new TruncatedNonUniform(3), true);
        yield return (new TruncatedUniform(3), true);
        if (quick)
        {
            yield break;
        }
        foreach (int bits in new[] { 1, 2, 4, 8 })
        {
            yield return (new TruncatedNonUniform(bits), false);
            yield return (new TruncatedUniform(bits), false);
        }
        foreach (int bits in new[] { 1, 2, 3, 4, 8 })
        {
            yield return (new TruncatedBiScaled(bits), false);
        }
        foreach (int bits in new[] { 2, 3, 4, 8 })
        {
            yield return (new Qsgd(bits), bits == 3);
            yield return (new Nuqsgd(bits), false);
        }
        yield return (new Sign(), false);
        yield return (new Sign { Magnitude = SignMagnitude.Unit }, false);
        // The SDE paper's unbiased sparsifiers (SparseVectorKernel on the vector paths, `--path scalar` for the reference;
        // bytes depend on how many are kept).
        yield return (new BernoulliSparsification(0.25), false);
        yield return (new RandKSparsification(1024), false);
        yield return (new FullPrecision(), false);
    }

    /// <summary>
    /// Runs encode, decode and decode-accumulate of TNQSGD b = 3 for a second before anything is measured. While the
    /// process is young the runtime keeps delaying tier-1 compilation (it waits for tier-0 JIT activity to calm down),
    /// and the first case measured ran at tier 0: TNQSGD b = 3 decode read 626–680 M/s instead of about 4,400 until
    /// this warm-up was added (measured 2026-11-23 with a standalone loop: 298, 478, then 4,331 M/s in successive
    /// half-second windows).
    /// </summary>
    private static void WarmUpJit(float[] gradient, GradientModel model, float[] decoded, float[] sum)
    {
        var spec = new TruncatedNonUniform(3);
        QuantizerDesign design = Quantizers.Design(spec, model, gradient.Length);
        var codec = new GradientCodec();
        byte[] payload = new byte[GradientCodec.GetMaxEncodedLength(spec, gradient.Length)];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 1)
        {
            int length = codec.Encode(gradient, design, new RoundingKey(1, 0, 0), payload);
            codec.Decode(payload.AsSpan(0, length), decoded);
            codec.DecodeAccumulate(payload.AsSpan(0, length), sum, 0.125f);
        }
    }

    /// <summary>Coordinates per second of <paramref name="action"/> on d coordinates: warm up, then time whole calls.</summary>
    private static double Measure(Action action, int d, double seconds)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < seconds)
        {
            action();
        }
        long calls = 0;
        var timer = Stopwatch.StartNew();
        do
        {
            action();
            calls++;
        }
        while (timer.Elapsed.TotalSeconds < seconds);
        return calls * (double)d / timer.Elapsed.TotalSeconds;
    }

    private static void WriteJson(TextWriter output, int d, CodecPath path, List<BenchResult> results) =>
        HostJson.WriteLine(output, new BenchJson(
            d,
            CodecPaths.Name(path),
            RuntimeInformation.ProcessArchitecture.ToString(),
            RuntimeInformation.FrameworkDescription,
            [.. results.Select(r => new BenchResultJson(r.Name, r.Bits, r.Path, r.Operation, Math.Round(r.CoordinatesPerSecond), r.Bytes))]),
            HostJson.Context.BenchJson);
}

/// <summary>What <c>verified bench codec --json</c> prints.</summary>
/// <remarks><c>Cpu</c>: the process architecture.</remarks>
internal sealed record BenchJson(int Dimension, string Path, string Cpu, string Runtime, BenchResultJson[] Results);

/// <summary>One case and operation of <see cref="BenchJson"/>.</summary>
/// <remarks><c>Bits</c>: bits per coordinate; 0 for the sparsifiers, whose label carries their parameter. <c>CoordinatesPerSecond</c>: rounded to a whole number.</remarks>
internal sealed record BenchResultJson(string Scheme, int Bits, string Path, string Operation, double CoordinatesPerSecond, long PayloadBytes);
