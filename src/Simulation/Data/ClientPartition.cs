using System.Globalization;
using MathNet.Numerics.Distributions;

namespace Verified.Simulation.Data;

/// <summary>How the training examples are divided among the clients.</summary>
public abstract record SplitSpec
{
    private protected SplitSpec()
    {
    }

    /// <summary>Every client gets a uniformly random share of equal size (± 1).</summary>
    public static SplitSpec Iid { get; } = new IidSplit();

    /// <summary>Label skew: for each class, the shares of the N clients are drawn from Dirichlet(α, …, α).</summary>
    public static SplitSpec Dirichlet(double alpha) => new DirichletSplit(alpha);

    /// <summary>Parses <c>iid</c> or <c>dirichlet:α</c> (e.g. <c>dirichlet:0.5</c>), as on the command line.</summary>
    /// <exception cref="FormatException">The text is neither.</exception>
    public static SplitSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string prefix = "dirichlet:";
        if (text.Equals("iid", StringComparison.OrdinalIgnoreCase))
        {
            return Iid;
        }
        if (text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            && double.TryParse(text.AsSpan(prefix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha)
            && DirichletSplit.IsValidAlpha(alpha))
        {
            return Dirichlet(alpha);
        }
        throw new FormatException($"'{text}' is not a split: use 'iid' or 'dirichlet:α' with a finite α > 0, e.g. 'dirichlet:0.5'.");
    }

    /// <summary>Divides <paramref name="labels"/>' indices among <paramref name="clients"/> clients.</summary>
    /// <param name="labels">One label per training example.</param>
    /// <param name="classCount">Number of classes; every label is below it.</param>
    /// <param name="clients">Number of clients. Range: 1 ≤ N ≤ number of examples.</param>
    /// <param name="random">The only source of randomness: the same seed gives the same partition.</param>
    public abstract ClientPartition Partition(ReadOnlySpan<byte> labels, int classCount, int clients, Random random);
}

/// <summary>See <see cref="SplitSpec.Iid"/>.</summary>
public sealed record IidSplit : SplitSpec
{
    internal IidSplit()
    {
    }

    /// <inheritdoc />
    public override ClientPartition Partition(ReadOnlySpan<byte> labels, int classCount, int clients, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ClientPartition.CheckClients(clients, labels.Length);
        int[] order = Enumerable.Range(0, labels.Length).ToArray();
        random.Shuffle(order);
        var shares = new int[clients][];
        for (int c = 0; c < clients; c++)
        {
            // Client c takes the c-th contiguous slice of the shuffled order; slice sizes differ by at most one.
            int start = (int)((long)labels.Length * c / clients);
            int end = (int)((long)labels.Length * (c + 1) / clients);
            shares[c] = order[start..end];
            Array.Sort(shares[c]);
        }
        return new ClientPartition(shares);
    }

    /// <inheritdoc />
    public override string ToString() => "iid";
}

/// <summary>See <see cref="SplitSpec.Dirichlet"/>.</summary>
/// <remarks>
/// The usual label-skew construction (Hsu, Qi and Brown 2019): for each class k, draw p_k ~ Dirichlet(α·1_N), shuffle
/// that class's examples and cut them at the cumulative proportions of p_k. Small α (0.1) gives each client few
/// classes; large α (100) approaches the IID split. Partitions that leave a client with fewer than
/// <see cref="MinimumPerClient"/> examples are redrawn, up to 1,000 times.
/// </remarks>
public sealed record DirichletSplit : SplitSpec
{
    /// <summary>Creates the split. Range: α &gt; 0 and finite.</summary>
    public DirichletSplit(double alpha) => Alpha = alpha;

    /// <summary>The concentration α. Range: α &gt; 0 and finite.</summary>
    public double Alpha
    {
        get;
        init => field = IsValidAlpha(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Alpha), value, "α must be a finite number > 0.");
    }

    /// <summary>Fewest examples any client may get. Range: ≥ 1.</summary>
    public int MinimumPerClient
    {
        get;
        init => field = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MinimumPerClient), value, "Every client needs at least one example.");
    } = 1;

    /// <summary>Whether α is a valid concentration: finite and &gt; 0.</summary>
    public static bool IsValidAlpha(double alpha) => alpha > 0 && double.IsFinite(alpha);

    /// <inheritdoc />
    public override ClientPartition Partition(ReadOnlySpan<byte> labels, int classCount, int clients, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ClientPartition.CheckClients(clients, labels.Length);
        if ((long)MinimumPerClient * clients > labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(clients), clients, $"{labels.Length} examples cannot give {clients} clients {MinimumPerClient} each.");
        }
        var byClass = new List<int>[classCount];
        for (int k = 0; k < classCount; k++)
        {
            byClass[k] = [];
        }
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label at {i} is not below the class count {classCount}.");
            }
            byClass[labels[i]].Add(i);
        }

        const int attempts = 1000;
        var proportions = new double[clients];
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            var shares = new List<int>[clients];
            for (int c = 0; c < clients; c++)
            {
                shares[c] = [];
            }
            foreach (List<int> members in byClass)
            {
                int[] order = [.. members];
                random.Shuffle(order);
                DrawDirichlet(proportions, random);
                double cumulative = 0;
                int start = 0;
                for (int c = 0; c < clients; c++)
                {
                    cumulative += proportions[c];
                    int end = c == clients - 1 ? order.Length : Math.Min(order.Length, (int)Math.Round(cumulative * order.Length));
                    shares[c].AddRange(order.AsSpan(start, Math.Max(0, end - start)));
                    start = Math.Max(start, end);
                }
            }
            if (shares.All(s => s.Count >= MinimumPerClient))
            {
                return new ClientPartition(shares.Select(s => { int[] a = [.. s]; Array.Sort(a); return a; }).ToArray());
            }
        }
        throw new InvalidOperationException(
            $"Dirichlet({Alpha}) left some client with fewer than {MinimumPerClient} examples in {attempts} draws; use a larger α or fewer clients.");
    }

    /// <summary>One draw of Dirichlet(α, …, α) into <paramref name="proportions"/>, by normalised Gamma(α, 1) draws.</summary>
    private void DrawDirichlet(double[] proportions, Random random)
    {
        double sum = 0;
        for (int c = 0; c < proportions.Length; c++)
        {
            proportions[c] = Gamma.Sample(random, Alpha, 1.0);
            sum += proportions[c];
        }
        if (!(sum > 0) || !double.IsFinite(sum))
        {
            // Every Gamma draw underflowed (α → 0): the limit puts the whole class on one client.
            Array.Clear(proportions);
            proportions[random.Next(proportions.Length)] = 1;
            return;
        }
        for (int c = 0; c < proportions.Length; c++)
        {
            proportions[c] /= sum;
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"dirichlet:{Alpha}");
}

/// <summary>Which training examples each client holds: disjoint, sorted index lists that together cover the set.</summary>
public sealed class ClientPartition
{
    private readonly int[][] _shares;

    internal ClientPartition(int[][] shares) => _shares = shares;

    /// <summary>Number of clients.</summary>
    public int ClientCount => _shares.Length;

    /// <summary>The sorted example indices of one client.</summary>
    public ReadOnlyMemory<int> Indices(int client) => _shares[client];

    internal static void CheckClients(int clients, int examples)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clients, examples);
    }
}
