#!/usr/bin/env python3
"""An independent decoder of docs/wire-format.md, written from the document alone (standard library only).

It parses every golden vector in wire-format.md, checks the length and the CRC-32C, decodes the indices, and
re-derives the indices of golden vectors 1 and 2 from the document's rounding rule. Run: python3 check_golden_vectors.py
"""
import math
import pathlib
import re
import struct

M32, M64 = (1 << 32) - 1, (1 << 64) - 1


def f32(x):
    """Round a float64 to the nearest float32 (exact float32 arithmetic for +, −, × of float32 operands)."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def splitmix(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def uniforms(seed, round_, client, d):
    z = splitmix(splitmix(seed) ^ (((round_ & M32) << 32) | (client & M32)))
    k0, k1 = z & M32, z >> 32
    return [f32((fmix32(fmix32(j ^ k0) ^ k1) >> 8) * 2.0 ** -24) for j in range(d)]


def truncated_levels(scheme, bits, alpha, model, scale, beta=0.0, inner=0):
    s = (1 << bits) - 1
    levels = [0.0] * (s + 1)
    levels[0], levels[s] = -alpha, alpha
    for k in range(1, s):
        if 2 * k < s:
            o = abs(2 * k - s)
            if scheme == 3:  # tuq
                levels[k] = alpha * (2 * k - s) / s
            elif scheme == 5:  # tbq
                outer_cells = s - inner
                inner_w = 2 * beta / inner
                outer_w = 0.0 if outer_cells == 0 else (alpha - beta) / (outer_cells // 2)
                t = o / 2.0
                levels[k] = -(t * inner_w if t <= inner / 2.0 else beta + (t - inner / 2.0) * outer_w)
            elif scheme == 4 and model == 1:  # tnq, laplace
                c = 1.5 * math.sqrt(6)
                levels[k] = -(3 * scale * math.log((s + c) / (s + c - o)))
            else:
                raise NotImplementedError('numeric tnq levels need the reference implementation')
    for k in range(1, s):
        if 2 * k > s:
            levels[k] = -levels[s - k]
    return levels


def decode(payload):
    assert payload[:4] == b'VFQC', 'magic'
    assert payload[4] == 1, 'version'
    scheme, bits, _threshold, model, inner = payload[5:10]
    d, length = struct.unpack_from('<II', payload, 12)
    (scale,) = struct.unpack_from('<f', payload, 20)
    alpha, model_scale, _shape, beta = struct.unpack_from('<dddd', payload, 24)
    (checksum,) = struct.unpack_from('<I', payload, 56)
    assert length == (d * bits + 7) // 8 and len(payload) == 60 + length, 'length'
    assert crc32c(payload[:56] + payload[60:]) == checksum, 'checksum'
    data = payload[60:]
    if scheme == 0:
        return list(struct.unpack('<%df' % d, data))
    stream = int.from_bytes(data, 'little')
    codes = [(stream >> (j * bits)) & ((1 << bits) - 1) for j in range(d)]
    if scale == 0:
        return [0.0] * d
    if scheme == 6:
        table = [-scale, scale]
    elif scheme in (1, 2):
        s = (1 << (bits - 1)) - 1
        mags = [0.0] + [(i / s if scheme == 1 else 2.0 ** (i - s)) for i in range(1, s + 1)]
        table = [f32(m * scale) for m in mags] + [-f32(m * scale) for m in mags]
    else:
        table = [f32(l) for l in truncated_levels(scheme, bits, alpha, model, model_scale, beta, inner)]
    return [table[c] for c in codes]


def round_truncated(gradient, levels, us):
    grid = [f32(l) for l in levels]
    s = len(grid) - 1
    codes = []
    for g, u in zip(gradient, us):
        x = min(max(f32(g), grid[0]), grid[s])
        k = next(k for k in range(1, s + 1) if grid[k] >= x)
        codes.append(k - 1 + (1 if f32(u * f32(grid[k] - grid[k - 1])) < f32(x - grid[k - 1]) else 0))
    return codes


if __name__ == '__main__':
    text = (pathlib.Path(__file__).parent / 'wire-format.md').read_text(encoding='utf-8')
    for block in re.findall(r'```\n   (56465143[0-9A-F ]+)\n   ```', text):
        print(['%.8g' % v for v in decode(bytes.fromhex(block.replace(' ', '')))])
    print('golden 1 codes', round_truncated([0, 0.5, -1, 2, -0.25], truncated_levels(3, 3, 1.0, 1, 1.0), uniforms(42, 0, 0, 5)))
    alpha = 3 * 0.5 * math.log1p(3 / (1.5 * math.sqrt(6)))
    print('golden 2 codes', round_truncated([0.1, -0.3, 0.7, -2, 0, 0.45], truncated_levels(4, 2, alpha, 1, 0.5), uniforms(7, 1, 2, 6)))
