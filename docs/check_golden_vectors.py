#!/usr/bin/env python3
"""An independent decoder of docs/wire-format.md, written from the document alone (standard library only).

It parses every golden vector in wire-format.md, checks the length and the CRC-32C, decodes the indices (version 1)
or the keep bitmap and values (version 2) or the container, its table and every segment (version 3), re-derives the
indices of golden vectors 1, 2 and 10 from the document's rounding rule (10 with global counters), and re-encodes
golden vectors 7 and 8 byte for byte from its selection rules.
Run: python3 check_golden_vectors.py
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


def key_words(seed, round_, client):
    z = splitmix(splitmix(seed) ^ (((round_ & M32) << 32) | (client & M32)))
    return z & M32, z >> 32


def uniforms(seed, round_, client, d):
    k0, k1 = key_words(seed, round_, client)
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


def decode_sparse(payload):
    """Version 2, schemes 7 (bernoulli) and 8 (randk): a keep bitmap, then the kept values as float32."""
    scheme, bits, threshold, model, inner = payload[5:10]
    d, length = struct.unpack_from('<II', payload, 12)
    (scale,) = struct.unpack_from('<f', payload, 20)
    param, model_scale, shape, beta = struct.unpack_from('<dddd', payload, 24)
    (checksum,) = struct.unpack_from('<I', payload, 56)
    assert bits == 32 and threshold == model == inner == 0 and payload[10:12] == b'\0\0', 'fixed bytes'
    assert scale == 1.0 and model_scale == shape == beta == 0.0, 'fixed fields'
    bitmap_len = (d + 7) // 8
    n, rest = divmod(length - bitmap_len, 4)
    assert length >= bitmap_len and rest == 0 and n <= d and len(payload) == 60 + length, 'length'
    assert crc32c(payload[:56] + payload[60:]) == checksum, 'checksum'
    if scheme == 7:
        assert 0 < param <= 1 and (param * 2 ** 24).is_integer(), 'q'
    else:
        assert param.is_integer() and 1 <= param <= d and n == param, 'k'
    bitmap = int.from_bytes(payload[60:60 + bitmap_len], 'little')
    assert bitmap >> d == 0, 'padding bits'
    kept = [j for j in range(d) if bitmap >> j & 1]
    assert len(kept) == n, 'popcount'
    values = struct.unpack_from('<%df' % n, payload, 60 + bitmap_len)
    assert all(math.isfinite(v) for v in values), 'finite'
    out = [0.0] * d
    for j, v in zip(kept, values):
        out[j] = v
    return out


def header(version, scheme, bits, d, length, scale, param):
    return (b'VFQC' + bytes([version, scheme, bits, 0, 0, 0, 0, 0]) + struct.pack('<IIf', d, length, scale)
            + struct.pack('<dddd', param, 0.0, 0.0, 0.0))


def seal(head, body):
    return head + struct.pack('<I', crc32c(head + body)) + body


def encode_bernoulli(gradient, q, seed, round_, client):
    """The document's rule: N = round-half-even(q·2^24) in 1..2^24; keep j iff the top 24 hash bits < N; value g/q_eff."""
    k0, k1 = key_words(seed, round_, client)
    threshold = min(max(round(q * 2 ** 24), 1), 2 ** 24)  # Python's round() is half to even
    q_eff = threshold / 2 ** 24
    d = len(gradient)
    bitmap, values = 0, []
    for j, g in enumerate(gradient):
        if fmix32(fmix32(j ^ k0) ^ k1) >> 8 < threshold:
            bitmap |= 1 << j
            values.append(f32(f32(g) / q_eff))
    body = bitmap.to_bytes((d + 7) // 8, 'little') + struct.pack('<%df' % len(values), *values)
    return seal(header(2, 7, 32, d, len(body), 1.0, q_eff), body)


def below(k0, k1, j, n):
    """Lemire's exact uniform integer in 0..n−1 from the hashes w_{j,t} = fmix32(fmix32(j ^ k0) ^ k1 ^ (t·0x9E3779B9))."""
    inner = fmix32(j ^ k0)
    t = 0
    while True:
        product = fmix32(inner ^ k1 ^ ((t * 0x9E3779B9) & M32)) * n
        if product & M32 >= (1 << 32) % n:
            return product >> 32
        t += 1


def encode_randk(gradient, k, seed, round_, client):
    """Selection sampling: keep j iff r > 0 and (r = n or below(n) < r), r still to keep, n = d − j left; value g·(d/k)."""
    k0, k1 = key_words(seed, round_, client)
    d = len(gradient)
    scale = d / k
    bitmap, values, remaining = 0, [], k
    for j, g in enumerate(gradient):
        left = d - j
        if remaining > 0 and (remaining == left or below(k0, k1, j, left) < remaining):
            bitmap |= 1 << j
            values.append(f32(f32(g) * scale))
            remaining -= 1
    body = bitmap.to_bytes((d + 7) // 8, 'little') + struct.pack('<%df' % len(values), *values)
    return seal(header(2, 8, 32, d, len(body), 1.0, float(k)), body)


def decode_segmented(payload):
    """Version 3: a 24-byte container, a 12-byte table entry per segment, then one version-1 payload per segment."""
    assert payload[5:8] == b'\0\0\0', 'reserved'
    n, d, length, checksum = struct.unpack_from('<IIII', payload, 8)
    assert n <= d and len(payload) == 24 + length, 'container length'
    assert crc32c(payload[:20] + payload[24:24 + 12 * n]) == checksum, 'container checksum'
    values, end, offset = [], 0, 24 + 12 * n
    for i in range(n):
        first, count, size = struct.unpack_from('<III', payload, 24 + 12 * i)
        assert first == end and count >= 1, 'segment %d does not follow segment %d' % (i, i - 1)
        segment = payload[offset:offset + size]
        assert len(segment) == size and segment[4] == 1, 'segment %d is a complete version-1 payload' % i
        decoded = decode(segment)
        assert len(decoded) == count, 'segment %d length' % i
        values += decoded
        end, offset = end + count, offset + size
    assert end == d and offset == len(payload), 'the segments tile [0, d) and fill the payload'
    return values


def segment_codes(payload, i):
    """The codes of segment i of a version-3 payload (for re-deriving them from the rounding rule)."""
    n = struct.unpack_from('<I', payload, 8)[0]
    offset = 24 + 12 * n + sum(struct.unpack_from('<I', payload, 24 + 12 * k + 8)[0] for k in range(i))
    bits, d = payload[offset + 6], struct.unpack_from('<I', payload, offset + 12)[0]
    stream = int.from_bytes(payload[offset + 60:offset + 60 + (d * bits + 7) // 8], 'little')
    return [(stream >> (j * bits)) & ((1 << bits) - 1) for j in range(d)]


def decode(payload):
    assert payload[:4] == b'VFQC', 'magic'
    assert payload[4] in (1, 2, 3), 'version'
    if payload[4] == 3:
        return decode_segmented(payload)
    if payload[5] in (7, 8):
        assert payload[4] == 2, 'the sparsifiers are version 2'
        return decode_sparse(payload)
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
    pattern = r'```\n +(56465143[0-9A-F ]+)\n +```'
    for block in re.findall(pattern, text):
        print(['%.8g' % v for v in decode(bytes.fromhex(block.replace(' ', '')))])
    print('golden 1 codes', round_truncated([0, 0.5, -1, 2, -0.25], truncated_levels(3, 3, 1.0, 1, 1.0), uniforms(42, 0, 0, 5)))
    alpha = 3 * 0.5 * math.log1p(3 / (1.5 * math.sqrt(6)))
    print('golden 2 codes', round_truncated([0.1, -0.3, 0.7, -2, 0, 0.45], truncated_levels(4, 2, alpha, 1, 0.5), uniforms(7, 1, 2, 6)))
    blocks = [bytes.fromhex(b.replace(' ', '')) for b in re.findall(pattern, text)]
    golden7 = encode_bernoulli([1, -2, 0.5, 0, 3, -0.25, 4, -1, 2, 0.125], 0.5, 3, 0, 1)
    golden8 = encode_randk([1.5, -2, 0.25, 4, -1, 0.5, 3], 3, 5, 2, 0)
    print('golden 7', golden7.hex().upper())
    print('golden 8', golden8.hex().upper())
    assert len(blocks) == 10, 'expected 10 golden vectors, found %d' % len(blocks)
    assert blocks[6] == golden7, 'golden 7 differs from the re-encoding'
    assert blocks[7] == golden8, 'golden 8 differs from the re-encoding'
    assert decode(blocks[6]) == [0, -4, 0, 0, 0, 0, 8, -2, 0, 0], 'golden 7 values'
    assert decode(blocks[7]) == [0, 0, f32(0.25 * (7 / 3)), 0, f32(-1 * (7 / 3)), 0, 7], 'golden 8 values'
    # Version 3: vector 9 wraps vector 2; vector 10's segments round with the uniforms of their global coordinates.
    assert blocks[8][36:] == blocks[1] and decode(blocks[8]) == decode(blocks[1]), 'golden 9 is golden 2 in a container'
    us = uniforms(7, 1, 2, 7)
    g10 = [0.1, -0.3, 0.7, -2, 5, -1, 0]
    codes0 = round_truncated(g10[:4], truncated_levels(4, 2, alpha, 1, 0.5), us[:4])
    codes1 = round_truncated(g10[4:], truncated_levels(4, 2, 4 * alpha, 1, 2.0), us[4:])
    print('golden 10 codes', codes0, codes1)
    assert segment_codes(blocks[9], 0) == codes0 and segment_codes(blocks[9], 1) == codes1, 'golden 10 codes'
    print('all golden vectors check')
