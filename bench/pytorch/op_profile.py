#!/usr/bin/python3
"""Per-operation timings of one client step of the MNIST CNN in PyTorch: the twin of `Verified.RoundLoop --ops`.

Each row times one operation with the shapes of the CNN's step (batch 32, 28x28 images): its forward call, then the
backward of its output with a gradient of ones, which is what autograd runs for that node inside a whole step. The
first convolution's input needs no gradient, as in training. Medians over N timed calls after N warm-up calls.
Inputs are random (seeded); the values do not matter for the time, only the shapes.

Run with Debian's PyTorch and an optimized BLAS (`apt-get install -y python3-torch libopenblas0-pthread`) from the
repository root; compare with the C# table of the same machine and hour. OPENBLAS_NUM_THREADS=1 keeps OpenBLAS on
one core too (its own threads otherwise spin on the second core, and time the rows inconsistently):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch/op_profile.py --iterations 200 --threads 1
    dotnet bench/Verified.RoundLoop/bin/Release/net10.0/Verified.RoundLoop.dll --ops 200 --threads 1
"""
import argparse, statistics, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--iterations", type=int, default=200, help="timed calls per row (after as many warm-up calls)")
p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op threads)")
p.add_argument("--seed", type=int, default=1)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
BATCH = 32
rows = []


def timed(name, phase, call):
    for _ in range(args.iterations):
        call()
    times = []
    for _ in range(args.iterations):
        start = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - start) / 1e3)
    rows.append((name, phase, statistics.median(times)))


def pair(name, shape, needs_grad, op):
    x = torch.randn(shape).requires_grad_(needs_grad)
    timed(name, "forward", lambda: op(x))
    with torch.no_grad():
        ones = torch.ones_like(op(x))
    times = []
    for i in range(-args.iterations, args.iterations):
        y = op(x)
        start = time.perf_counter_ns()
        y.backward(ones)
        if i >= 0:
            times.append((time.perf_counter_ns() - start) / 1e3)
    rows.append((name, "backward", statistics.median(times)))


def param(*shape):
    return (torch.randn(shape) * 0.05).requires_grad_(True)


images = (torch.rand(60_000, 1, 28, 28) * 255).floor().to(torch.uint8)
indices = torch.randint(0, 60_000, (BATCH,))
timed("batch (gather 32 images, to float, normalise)", "-",
      lambda: images.index_select(0, indices).to(torch.float32).div_(255).sub_(0.1307).div_(0.3081))

inp = torch.randn(BATCH, 1, 28, 28)
w1, b1, w2, b2 = param(32, 1, 3, 3), param(32), param(64, 32, 3, 3), param(64)
w3, b3, w4, b4 = param(128, 9216), param(128), param(10, 128), param(10)
labels = torch.randint(0, 10, (BATCH,))

pair("conv1 1→32, 3×3", (BATCH, 1, 28, 28), False, lambda x: F.conv2d(x, w1, b1))
pair("relu after conv1", (BATCH, 32, 26, 26), True, F.relu)
pair("conv2 32→64, 3×3", (BATCH, 32, 26, 26), True, lambda x: F.conv2d(x, w2, b2))
pair("relu after conv2", (BATCH, 64, 24, 24), True, F.relu)
pair("max-pool 2×2", (BATCH, 64, 24, 24), True, lambda x: F.max_pool2d(x, 2))
pair("max-pool 2×2 on a channels-last copy", (BATCH, 64, 24, 24), True,
     lambda x: F.max_pool2d(x.contiguous(memory_format=torch.channels_last), 2).contiguous())
pair("dropout .25 (nn.Dropout)", (BATCH, 64, 12, 12), True, lambda x: F.dropout(x, 0.25, training=True))
pair("fc1 9216→128", (BATCH, 9216), True, lambda x: F.linear(x, w3, b3))
pair("relu after fc1", (BATCH, 128), True, F.relu)
pair("dropout .5 (nn.Dropout)", (BATCH, 128), True, lambda x: F.dropout(x, 0.5, training=True))
pair("fc2 128→10", (BATCH, 128), True, lambda x: F.linear(x, w4, b4))
pair("cross-entropy", (BATCH, 10), True, lambda x: F.cross_entropy(x, labels))

params = [w1, b1, w2, b2, w3, b3, w4, b4]


def step():
    for q in params:
        if q.grad is not None:
            q.grad.zero_()
    x = F.relu(F.conv2d(inp, w1, b1))
    x = F.relu(F.conv2d(x, w2, b2))
    x = F.dropout(F.max_pool2d(x, 2), 0.25, training=True).flatten(1)
    x = F.dropout(F.relu(F.linear(x, w3, b3)), 0.5, training=True)
    loss = F.cross_entropy(F.linear(x, w4, b4), labels)
    loss.backward()
    loss.item()


timed("whole client step (zero_grad, forward, backward, loss.item)", "-", step)
flat = torch.empty(sum(q.numel() for q in params))
views, offset = [], 0
for q in params:
    views.append(flat.narrow(0, offset, q.numel()).view(q.shape))
    offset += q.numel()


def gather():
    for v, q in zip(views, params):
        v.copy_(q.grad)


timed("flatten the 8 gradients into one float[]", "-", gather)
timed("a Python→native call (Tensor.dim)", "-", lambda: inp.dim())

print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), {args.iterations} timed calls per row (median)")
print(f"{'operation':<62} {'phase':<9} {'µs':>10}")
for name, phase, us in rows:
    print(f"{name:<62} {phase:<9} {us:10.1f}")
