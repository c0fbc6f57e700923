namespace Verified.Host.Cli;

/// <summary>A table of strings written as Markdown (for docs/) or as columns aligned for a terminal.</summary>
internal static class TextTable
{
    /// <summary>
    /// Writes <paramref name="header"/> and <paramref name="lines"/>: Markdown, or text with each column as wide as its
    /// widest cell (labels such as tnq-3-tensor-averaged do not push the rest out of line). A column whose cells are all
    /// numbers (<see cref="IsNumeric"/>) is right-aligned, header included, so its digits line up; any other column is
    /// left-aligned. Alignment follows the cells, not the column's place, so a text column after the label reads from
    /// its left edge too.
    /// </summary>
    public static void Write(TextWriter output, IReadOnlyList<string> header, IReadOnlyList<string[]> lines, bool markdown)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(lines);
        bool[] right = [.. header.Select((_, i) => IsNumericColumn(lines, i))];
        if (markdown)
        {
            output.WriteLine("| " + string.Join(" | ", header) + " |");
            output.WriteLine("| " + string.Join(" | ", header.Select((_, i) => right[i] ? "---:" : "---")) + " |");
            foreach (string[] line in lines)
            {
                output.WriteLine("| " + string.Join(" | ", line) + " |");
            }
            return;
        }
        int[] widths = [.. header.Select((h, i) => Math.Max(i == 0 ? 10 : 0, lines.Select(l => l[i].Length).Append(h.Length).Max()))];
        string Format(IEnumerable<string> cells) => string.Join("  ", cells.Select((c, i) => right[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        output.WriteLine(Format(header));
        foreach (string[] line in lines)
        {
            output.WriteLine(Format(line));
        }
    }

    /// <summary>
    /// A column of numbers: at least one cell is one, and every other cell is one too or empty or "–" (no value).
    /// </summary>
    private static bool IsNumericColumn(IReadOnlyList<string[]> lines, int column)
    {
        bool any = false;
        foreach (string[] line in lines)
        {
            string cell = line[column];
            if (cell.Length == 0 || cell == "–")
            {
                continue;
            }
            if (!IsNumeric(cell))
            {
                return false;
            }
            any = true;
        }
        return any;
    }

    /// <summary>
    /// A cell that starts with a number, optionally signed (+, - or −): 0.9787, 1809.79, 10.6×, -0.01,
    /// 0.9787 ± 0.0012 (5), 12.3 %. What follows the number is its unit or spread; the tables here print it in the
    /// same form on every row of a column, which is what makes right-aligned cells line their numbers up.
    /// </summary>
    internal static bool IsNumeric(string cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        int i = cell.Length > 0 && cell[0] is '+' or '-' or '−' ? 1 : 0;
        return i < cell.Length && char.IsAsciiDigit(cell[i]);
    }
}
