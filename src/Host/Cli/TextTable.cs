namespace Verified.Host.Cli;

/// <summary>A table of strings written as Markdown (for docs/) or as columns aligned for a terminal.</summary>
internal static class TextTable
{
    /// <summary>
    /// Writes <paramref name="header"/> and <paramref name="lines"/>: Markdown with the first column left-aligned and the
    /// rest right-aligned, or text with each column as wide as its widest cell (labels such as tnq-3-tensor-averaged do
    /// not push the rest out of line).
    /// </summary>
    public static void Write(TextWriter output, IReadOnlyList<string> header, IReadOnlyList<string[]> lines, bool markdown)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(lines);
        if (markdown)
        {
            output.WriteLine("| " + string.Join(" | ", header) + " |");
            output.WriteLine("| " + string.Join(" | ", header.Select((_, i) => i == 0 ? "---" : "---:")) + " |");
            foreach (string[] line in lines)
            {
                output.WriteLine("| " + string.Join(" | ", line) + " |");
            }
            return;
        }
        int[] widths = [.. header.Select((h, i) => Math.Max(i == 0 ? 10 : 0, lines.Select(l => l[i].Length).Append(h.Length).Max()))];
        string Format(IEnumerable<string> cells) => string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        output.WriteLine(Format(header));
        foreach (string[] line in lines)
        {
            output.WriteLine(Format(line));
        }
    }
}
