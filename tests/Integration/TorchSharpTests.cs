using System.Reflection;
using static TorchSharp.torch;

namespace IntegrationTests;

/// <summary>TorchSharp loads and trains from a plain <c>dotnet build</c> (build/TorchSharp.Debian12.targets).</summary>
[Collection(LibtorchTests.Name)]
public sealed class TorchSharpTests
{
    [Fact]
    public void BackwardPass_GivesAnalyticGradient()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1f, -2f, 3f }, requires_grad: true);
        var y = (x * x).sum() + (3 * x).sum();
        y.backward();

        // d/dx (x² + 3x) = 2x + 3
        Assert.Equal(new float[] { 5f, -1f, 9f }, x.grad!.data<float>().ToArray());
    }

    [Fact]
    public void BackwardPass_ThroughConvolutionAndLinear_FillsEveryGradient()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        using var conv = nn.Conv2d(1, 4, 3);
        using var linear = nn.Linear(4 * 26 * 26, 10);
        var input = randn(2, 1, 28, 28);
        var target = tensor(new long[] { 3, 8 });
        var logits = linear.forward(nn.functional.relu(conv.forward(input)).flatten(1));
        var loss = nn.functional.cross_entropy(logits, target);
        loss.backward();

        Assert.True(float.IsFinite(loss.item<float>()));
        foreach (var p in conv.parameters().Concat(linear.parameters()))
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0f);
        }
    }

    [Fact]
    public void BuildStep_PatchesOnlyTheOutputCopy_AndOnlyTheWeakFlag()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the build step is a no-op elsewhere
        }
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string packageRoot = typeof(TorchSharpTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        string package = Path.Combine(packageRoot, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), output);
        Assert.True(File.Exists(package), package);

        byte[] patched = File.ReadAllBytes(output);
        byte[] original = File.ReadAllBytes(package);
        Assert.Equal(original.Length, patched.Length);
        int[] differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();

        // A system libstdc++ that has GLIBCXX_3.4.32 needs no patch; otherwise exactly one vna_flags byte gains
        // VER_FLG_WEAK (0x2), and the package cache still holds the original.
        if (SystemLibstdcxxProvides("GLIBCXX_3.4.32"u8))
        {
            Assert.Empty(differing);
            return;
        }
        int at = Assert.Single(differing);
        Assert.Equal(0, original[at] & 0x2);
        Assert.Equal(original[at] | 0x2, patched[at]);
    }

    /// <summary>Whether the system libstdc++ names the version (its version definitions live in .dynstr).</summary>
    private static bool SystemLibstdcxxProvides(ReadOnlySpan<byte> version)
    {
        string[] candidates = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6"];
        string library = candidates.First(File.Exists);
        return File.ReadAllBytes(library).AsSpan().IndexOf(version) >= 0;
    }
}
