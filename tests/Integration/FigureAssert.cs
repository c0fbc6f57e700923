using System.Xml.Linq;

namespace IntegrationTests;

/// <summary>Checks that a figure was written in both formats: a PNG, and an SVG beside it that parses as SVG.</summary>
internal static class FigureAssert
{
    public static void PngAndSvg(string pngPath)
    {
        byte[] png = File.ReadAllBytes(pngPath);
        Assert.True(png.Length > 1000, pngPath);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        string svgPath = Path.ChangeExtension(pngPath, ".svg");
        Assert.True(File.Exists(svgPath), $"no SVG beside {pngPath}");
        XDocument svg = XDocument.Load(svgPath);
        Assert.Equal("svg", svg.Root!.Name.LocalName);
    }
}
