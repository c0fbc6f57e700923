// Inline MSBuild task (RoslynCodeTaskFactory, compiled against .NET Standard) used by
// build/TorchSharp.Debian12.targets. See that file for why it exists.
//
// ELF64 little-endian structures it reads (System V gABI, GNU symbol versioning):
//
//   ELF header        e_shoff @0x28 (8)   e_shentsize @0x3A (2)   e_shnum @0x3C (2)
//   section header    sh_type @0x04 (4)   sh_offset @0x18 (8)     sh_size @0x20 (8)   sh_link @0x28 (4)   sh_info @0x2C (4)
//   Elf64_Verneed     vn_cnt @0x02 (2)    vn_file @0x04 (4)       vn_aux @0x08 (4)    vn_next @0x0C (4)
//   Elf64_Vernaux     vna_flags @0x04 (2) vna_name @0x08 (4)      vna_next @0x0C (4)
//   Elf64_Verdef      vd_cnt @0x06 (2)    vd_aux @0x0C (4)        vd_next @0x10 (4)
//   Elf64_Verdaux     vda_name @0x00 (4)
//
// The dynamic loader reads the same bytes through DT_VERNEED, so flipping vna_flags in the file changes
// what the loader sees. With VER_FLG_WEAK set, a missing version is reported as a warning instead of
// failing dlopen.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfVersionNeed : Task
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>The ELF shared objects to patch in place (copies in an output folder).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The needed library whose version entry is weakened, e.g. libstdc++.so.6.</summary>
    [Required]
    public string Library { get; set; } = "";

    /// <summary>The version to weaken, e.g. GLIBCXX_3.4.32.</summary>
    [Required]
    public string Version { get; set; } = "";

    /// <summary>Paths where the system copy of <see cref="Library"/> may be; the first that exists is read.</summary>
    public string[] SystemLibraryCandidates { get; set; } = Array.Empty<string>();

    /// <summary>Files under this folder (the NuGet package cache) are never written.</summary>
    public string ForbiddenRoot { get; set; } = "";

    /// <summary>
    /// Patch even when this machine's libstdc++ provides <see cref="Version"/>: for outputs that run elsewhere (a
    /// publish folder, the tool package), whose machine may lack it. The weak flag changes nothing where the version
    /// exists.
    /// </summary>
    public bool EvenWhereProvided { get; set; }

    public override bool Execute()
    {
        try
        {
            HashSet<string> provided = null;
            foreach (string candidate in SystemLibraryCandidates)
            {
                if (!File.Exists(candidate)) continue;
                provided = DefinedVersions(File.ReadAllBytes(candidate), candidate);
                if (provided.Contains(Version) && !EvenWhereProvided)
                {
                    Log.LogMessage(MessageImportance.Low, $"{candidate} provides {Version}; no patch needed.");
                    return true;
                }
                if (provided.Contains(Version))
                {
                    Log.LogMessage(MessageImportance.Low, $"{candidate} provides {Version}; weakening that version need anyway, for machines that lack it.");
                    break;
                }
                Log.LogMessage(MessageImportance.Low, $"{candidate} lacks {Version}; weakening that version need.");
                break;
            }

            foreach (ITaskItem item in Files)
            {
                string path = Path.GetFullPath(item.ItemSpec);
                if (ForbiddenRoot.Length > 0 && path.StartsWith(Path.GetFullPath(ForbiddenRoot), StringComparison.Ordinal))
                    throw new InvalidDataException($"refusing to patch {path}: it is inside the NuGet package cache ({ForbiddenRoot}); only output copies may be patched.");
                Patch(path, provided);
            }
            return !Log.HasLoggedErrors;
        }
        catch (InvalidDataException e)
        {
            Log.LogError($"TorchSharp libstdc++ patch: {e.Message} The patch in build/TorchSharp.Debian12.targets expects the layout of TorchSharp 0.107.0; review it before upgrading TorchSharp.");
            return false;
        }
    }

    private void Patch(string path, HashSet<string> provided)
    {
        byte[] elf = File.ReadAllBytes(path);
        int flagsOffset = -1;
        bool weak = false;
        var stillMissing = new List<string>();
        foreach (Section section in Sections(elf, path))
        {
            if (section.Type != ShtGnuVerneed) continue;
            Section strings = SectionAt(elf, path, section.Link);
            int need = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                Require(elf, path, need, 16);
                string file = CString(elf, path, strings, U32(elf, need + 4));
                int aux = need + (int)U32(elf, need + 8);
                for (int j = 0; j < U16(elf, need + 2); j++)
                {
                    Require(elf, path, aux, 16);
                    ushort flags = U16(elf, aux + 4);
                    string name = CString(elf, path, strings, U32(elf, aux + 8));
                    if (file == Library && name == Version)
                    {
                        flagsOffset = aux + 4;
                        weak = (flags & VerFlgWeak) != 0;
                    }
                    else if (file == Library && provided != null && !provided.Contains(name) && (flags & VerFlgWeak) == 0)
                    {
                        stillMissing.Add(name);
                    }
                    aux += (int)U32(elf, aux + 12);
                }
                need += (int)U32(elf, need + 12);
            }
        }

        if (flagsOffset < 0)
            throw new InvalidDataException($"{path} has no version need {Version} of {Library}.");
        if (stillMissing.Count > 0)
            throw new InvalidDataException($"{path} also needs {string.Join(", ", stillMissing)} of {Library}, which this system lacks; weakening {Version} alone would not make it load.");
        if (weak)
        {
            Log.LogMessage(MessageImportance.Low, $"{path}: {Version} is already weak.");
            return;
        }

        ushort patched = (ushort)(U16(elf, flagsOffset) | VerFlgWeak);
        elf[flagsOffset] = (byte)patched;
        elf[flagsOffset + 1] = (byte)(patched >> 8);
        // Write a new file and rename it over the old one, so that a hard link or symlink into the
        // package cache is replaced rather than written through.
        // The original timestamp is kept so that the next incremental build's copy step sees an up-to-date file
        // and skips it, and this task then finds the entry already weak.
        DateTime written = File.GetLastWriteTimeUtc(path);
        string temporary = path + ".weak-tmp";
        File.Copy(path, temporary, overwrite: true); // keeps the file mode
        using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.Write))
        {
            stream.Position = flagsOffset;
            stream.Write(elf, flagsOffset, 2);
        }
        File.Delete(path);
        File.Move(temporary, path);
        File.SetLastWriteTimeUtc(path, written);
        Log.LogMessage(MessageImportance.Normal, $"Marked the {Library} version need {Version} as weak in {path}.");
    }

    private static HashSet<string> DefinedVersions(byte[] elf, string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Section section in Sections(elf, path))
        {
            if (section.Type != ShtGnuVerdef) continue;
            Section strings = SectionAt(elf, path, section.Link);
            int def = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                Require(elf, path, def, 20);
                if (U16(elf, def + 6) > 0)
                {
                    int aux = def + (int)U32(elf, def + 12);
                    Require(elf, path, aux, 8);
                    names.Add(CString(elf, path, strings, U32(elf, aux)));
                }
                def += (int)U32(elf, def + 16);
            }
        }
        return names;
    }

    private struct Section
    {
        public uint Type;
        public int Offset;
        public int Size;
        public uint Link;
        public uint Info;
    }

    private static IEnumerable<Section> Sections(byte[] elf, string path)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{path} is not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file.");
        ulong shoff = U64(elf, 0x28);
        ushort shentsize = U16(elf, 0x3A);
        ushort shnum = U16(elf, 0x3C);
        if (shnum == 0 || shentsize < 64 || shoff + (ulong)shnum * shentsize > (ulong)elf.Length)
            throw new InvalidDataException($"{path} has no readable section header table.");
        for (int i = 0; i < shnum; i++)
            yield return SectionAt(elf, path, (uint)i);
    }

    private static Section SectionAt(byte[] elf, string path, uint index)
    {
        ulong header = U64(elf, 0x28) + (ulong)index * U16(elf, 0x3A);
        if (index >= U16(elf, 0x3C) || header + 64 > (ulong)elf.Length)
            throw new InvalidDataException($"{path}: section index {index} is out of range.");
        int h = (int)header;
        ulong offset = U64(elf, h + 0x18), size = U64(elf, h + 0x20);
        uint type = U32(elf, h + 4);
        if (type != 8 /* SHT_NOBITS */ && offset + size > (ulong)elf.Length)
            throw new InvalidDataException($"{path}: section {index} lies outside the file.");
        return new Section { Type = type, Offset = (int)offset, Size = (int)size, Link = U32(elf, h + 0x28), Info = U32(elf, h + 0x2C) };
    }

    private static string CString(byte[] elf, string path, Section strings, uint offset)
    {
        if (offset >= (uint)strings.Size)
            throw new InvalidDataException($"{path}: string offset {offset} is outside its string table.");
        int start = strings.Offset + (int)offset, end = start;
        int limit = strings.Offset + strings.Size;
        while (end < limit && elf[end] != 0) end++;
        return Encoding.ASCII.GetString(elf, start, end - start);
    }

    private static void Require(byte[] elf, string path, int offset, int length)
    {
        if (offset < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"{path}: a version record at offset {offset} lies outside the file.");
    }

    private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
    private static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
    private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
}
