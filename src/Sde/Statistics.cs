namespace Verified.Sde;

/// <summary>Small statistics of the experiments.</summary>
internal static class Statistics
{
    /// <summary>
    /// Weighted least-squares slope of ln y against ln x, weights 1/Var(ln y) with Var(ln y) ≈ (se/y)², and its
    /// standard error √(1/Σw(ln x − mean)²). Zero standard errors give equal weights and SE 0.
    /// </summary>
    public static (double Slope, double StandardError) LogLogSlope(double[] x, double[] y, double[] standardErrors)
    {
        int n = x.Length;
        var lx = new double[n];
        var ly = new double[n];
        var w = new double[n];
        bool weighted = standardErrors.All(s => s > 0);
        for (int i = 0; i < n; i++)
        {
            lx[i] = Math.Log(x[i]);
            ly[i] = Math.Log(y[i]);
            double relative = standardErrors[i] / y[i];
            w[i] = weighted ? 1 / (relative * relative) : 1;
        }
        double sw = w.Sum();
        double mx = lx.Select((v, i) => v * w[i]).Sum() / sw;
        double my = ly.Select((v, i) => v * w[i]).Sum() / sw;
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < n; i++)
        {
            sxx += w[i] * (lx[i] - mx) * (lx[i] - mx);
            sxy += w[i] * (lx[i] - mx) * (ly[i] - my);
        }
        return (sxy / sxx, weighted ? Math.Sqrt(1 / sxx) : 0);
    }
}
