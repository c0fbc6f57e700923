using Verified.Simulation.Training;
using Verified.Theory;
using Verified.Theory.Sampling;

namespace IntegrationTests;

/// <summary>The per-upload fits: the fast Lomax fit and the BIC choice between Laplace and Lomax.</summary>
public sealed class UploadFitTests
{
    [Fact]
    public void Auto_KeepsLaplace_OnLaplaceGradients_AndPicksLomax_OnHeavyTails()
    {
        float[] laplaceGradient = LaplaceSampler.Vector(100_000, 0.01, 4);
        Laplace laplaceFit = ModelFit.Laplace(laplaceGradient);
        Assert.Same(laplaceFit, UploadFit.Fit(UploadFitKind.Auto, laplaceGradient, laplaceFit, out bool fellBack));
        Assert.False(fellBack);

        var truth = new Lomax(0.01, 4);
        var random = new Random(5);
        float[] heavy = [.. Enumerable.Range(0, 100_000).Select(_ => (float)truth.Quantile(random.NextDouble()))];
        GradientModel chosen = UploadFit.Fit(UploadFitKind.Auto, heavy, ModelFit.Laplace(heavy), out _);
        Lomax lomax = Assert.IsType<Lomax>(chosen);
        // Five standard errors of the MLE at ρ = 4, d = 10⁵: SE(ρ̂) = a(a + 1)/√d with a = ρ − 1 = 3 → 0.038.
        Assert.InRange(lomax.Shape, 4 - (5 * 0.038), 4 + (5 * 0.038));
        Assert.True(UploadFit.TryParse("auto", out UploadFitKind kind));
        Assert.Equal(UploadFitKind.Auto, kind);
    }

    [Fact]
    public void Lomax_UsesTheFastFit_AndFallsBackWhenTheTailIsTooHeavy()
    {
        var random = new Random(6);
        var tooHeavy = new Lomax(1, 3.5);
        // ρ = 2.5 data (drawn as a Lomax with a = 1.5 by inversion): no finite truncation error, so Laplace is used.
        float[] heavy = [.. Enumerable.Range(0, 50_000).Select(_ =>
        {
            double u = random.NextDouble();
            double magnitude = Math.Pow(1 - u, -1 / 1.5) - 1;
            return (float)(random.Next(2) == 0 ? magnitude : -magnitude);
        })];
        Laplace laplace = ModelFit.Laplace(heavy);
        Assert.Same(laplace, UploadFit.Fit(UploadFitKind.Lomax, heavy, laplace, out bool fellBack));
        Assert.True(fellBack);
        float[] moderate = [.. Enumerable.Range(0, 50_000).Select(_ => (float)tooHeavy.Quantile(random.NextDouble()))];
        Assert.IsType<Lomax>(UploadFit.Fit(UploadFitKind.Lomax, moderate, ModelFit.Laplace(moderate), out bool moderateFellBack));
        Assert.False(moderateFellBack);
    }
}
