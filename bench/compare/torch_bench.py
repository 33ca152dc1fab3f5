#!/usr/bin/env python3
"""The reference side of `nabla bench`: the same workloads in PyTorch and NumPy (OpenBLAS).

Prints one JSON document (the format of `nabla bench --json`, see bench/compare/join.py) with:
  gemm       torch.mm and numpy.dot GFLOP/s at the shapes of src/Nabla.Cli/Bench/GemmWorkload.cs
  mlp_train  MLP 784-256-128-10 (ReLU), cross-entropy, batch 128, same optimiser, same IDX data
  mlp_infer  batch-1 latency and batch-1000 throughput (eval mode, torch.inference_mode)
  peak_rss   peak resident set size of the process (resource.getrusage)

Threads: --threads N calls torch.set_num_threads(N); OpenBLAS's thread count comes from the
environment (OPENBLAS_NUM_THREADS), which run.sh varies. Run lengths match `nabla bench`.
"""
import argparse
import datetime
import gzip
import json
import os
import platform
import resource
import struct
import sys
import time

import numpy as np
import threadpoolctl
import torch
import torch.nn as nn
import torch.nn.functional as F

# name, trans_a, trans_b, m, k, n  -- op(A) is m x k, op(B) is k x n (keep in step with GemmWorkload.cs)
def _layer(batch, inputs, outputs):
    return [
        (f"{batch}x{inputs}x{outputs}", False, False, batch, inputs, outputs),
        (f"{batch}x{inputs}x{outputs}.dW", True, False, inputs, batch, outputs),
        (f"{batch}x{inputs}x{outputs}.dX", False, True, batch, outputs, inputs),
    ]

GEMM_STANDARD = [
    ("256x256x256", False, False, 256, 256, 256),
    ("512x512x512", False, False, 512, 512, 512),
    ("1024x1024x1024", False, False, 1024, 1024, 1024),
    ("2048x2048x2048", False, False, 2048, 2048, 2048),
    *_layer(128, 784, 256),
    *_layer(128, 256, 128),
    *_layer(128, 128, 10),
    ("18432x25x6", False, False, 18432, 25, 6),
    ("6x25x18432", False, False, 6, 25, 18432),
]
GEMM_TINY = [("16x16x16", False, False, 16, 16, 16), *_layer(8, 20, 12)]


class Settings:
    """Run lengths, the same as BenchSettings.cs."""

    def __init__(self, quick, tiny):
        self.batch = 16 if tiny else 128
        self.repeats = 3 if tiny else 5 if quick else 15
        self.warmup_calls = 5 if tiny else 100 if quick else 300
        self.warmup_seconds = 0 if tiny else 0.1 if quick else 0.3
        self.batch_seconds = 0.001 if tiny else 0.02
        self.train_warmup_steps = 2 if tiny else 30 if quick else 100
        self.train_warmup_seconds = 0 if tiny else 1.0 if quick else 2.0
        self.train_steps = 3 if tiny else 25 if quick else 50
        self.infer_batch = 32 if tiny else 1000


def seconds_per_call(fn, s, max_warmup_seconds=1.5):
    """Warm up, size a batch of calls to s.batch_seconds, time s.repeats batches, return the median."""
    t0 = time.perf_counter()
    calls = 0
    while calls < s.warmup_calls or time.perf_counter() - t0 < s.warmup_seconds:
        if calls >= 2 and time.perf_counter() - t0 >= max_warmup_seconds:
            break
        fn()
        calls += 1
    batch = max(1, int(calls * s.batch_seconds / (time.perf_counter() - t0)))
    samples = []
    for _ in range(s.repeats):
        t1 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t1) / batch)
    return float(np.median(samples))


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_sets(directory):
    """(images, labels) of the training set and, if present, the test set of an MNIST-style folder
    (the names MnistFolder.Find recognises; a raw file is preferred to its gzipped twin)."""
    names = sorted(os.listdir(directory))
    pick = lambda ns: min(ns, key=lambda n: n.endswith(".gz"))
    sets = []
    for images_prefix, labels_prefix in (("train-images", "train-labels"), ("t10k-images", "t10k-labels"),
                                         ("images", "labels")):
        imgs = [n for n in names if n.startswith(images_prefix)]
        labs = [n for n in names if n.startswith(labels_prefix)]
        if imgs and labs:
            sets.append((os.path.join(directory, pick(imgs)), os.path.join(directory, pick(labs))))
    if not sets:
        raise FileNotFoundError(f"{directory}: no MNIST-style IDX files")
    return sets


def load_data(directory):
    """Training inputs [N, 784] in [0, 1] and labels. Like MnistFolder.Load, the test set (when the
    folder has one) is loaded too and kept, so that both sides hold the same data in memory."""
    if directory is None:  # tiny runs: random data, like MlpWorkload.LoadData(null)
        g = torch.Generator().manual_seed(3)
        return torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g)
    loaded = []
    for images, labels in find_sets(directory):
        x = read_idx(images).reshape(-1, 28 * 28).astype(np.float32) / np.float32(255)
        y = read_idx(labels).astype(np.int64)
        loaded.append((torch.from_numpy(x), torch.from_numpy(y)))
    _KEEP.extend(loaded[1:])
    return loaded[0]


_KEEP = []


def build_model(inputs):
    torch.manual_seed(42)
    return nn.Sequential(nn.Linear(inputs, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def make_optimizer(name, model):
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    raise ValueError(f"unknown optimiser {name}")


def batches(x, y, batch):
    """Shuffled full batches forever (a new permutation each epoch), like DataLoader(dropLast)."""
    g = torch.Generator().manual_seed(1)
    n = x.shape[0]
    while True:
        perm = torch.randperm(n, generator=g)
        for start in range(0, n - batch + 1, batch):
            idx = perm[start:start + batch]
            yield x.index_select(0, idx), y.index_select(0, idx)


def bench_train(x, y, s, optimizer):
    model = build_model(x.shape[1])
    model.train()
    opt = make_optimizer(optimizer, model)
    it = batches(x, y, s.batch)
    last = [float("nan")]

    def step():
        xb, yb = next(it)
        opt.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        last[0] = loss.item()
        loss.backward()
        opt.step()

    t0, done = time.perf_counter(), 0
    while done < s.train_warmup_steps or time.perf_counter() - t0 < s.train_warmup_seconds:
        step()
        done += 1
    rates = []
    for _ in range(s.repeats):
        t0 = time.perf_counter()
        for _ in range(s.train_steps):
            step()
        rates.append(s.train_steps * s.batch / (time.perf_counter() - t0))
    rate = float(np.median(rates))
    return {"name": "mlp_train", "batch": s.batch, "optimizer": optimizer,
            "samples_per_s": round(rate, 1), "ms_per_step": round(1000.0 * s.batch / rate, 4),
            "loss": round(last[0], 4)}


def bench_infer(x, batch, s):
    model = build_model(x.shape[1])
    model.eval()
    n = min(batch, x.shape[0])
    inp = x[torch.arange(batch) % n].contiguous()
    with torch.inference_mode():
        sec = seconds_per_call(lambda: model(inp), s)
    return {"name": "mlp_infer", "batch": batch, "latency_us": round(sec * 1e6, 3),
            "samples_per_s": round(batch / sec, 1)}


def bench_gemm(case, s):
    name, ta, tb, m, k, n = case
    rng = np.random.default_rng(1)
    a = (rng.random((k, m) if ta else (m, k), dtype=np.float32) - 0.5)
    b = (rng.random((n, k) if tb else (k, n), dtype=np.float32) - 0.5)
    c = np.empty((m, n), dtype=np.float32)
    opa = a.T if ta else a  # a transposed view: BLAS reads it with its trans flag, no copy
    opb = b.T if tb else b
    flops = 2.0 * m * n * k
    out = []
    ta_t, tb_t, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c.copy())
    topa = ta_t.t() if ta else ta_t
    topb = tb_t.t() if tb else tb_t
    for impl, fn in (("torch", lambda: torch.mm(topa, topb, out=tc)),
                     ("numpy", lambda: np.dot(opa, opb, out=c))):
        sec = seconds_per_call(fn, s)
        out.append({"name": "gemm", "impl": impl, "shape": name, "m": m, "n": n, "k": k,
                    "trans_a": ta, "trans_b": tb, "gflops": round(flops / sec / 1e9, 2),
                    "us_per_call": round(sec * 1e6, 3)})
    return out


def cpu_model():
    """lscpu's "Model name" (from /proc/cpuinfo), as BenchRunner.CpuModel reads it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def blas_info():
    return [{k: v for k, v in i.items() if k in ("internal_api", "prefix", "filepath", "version",
                                                   "num_threads", "architecture", "threading_layer")}
            for i in threadpoolctl.threadpool_info()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--mode", choices=["all", "gemm", "mlp", "train-only"], default="all")
    p.add_argument("--data", default=None, help="MNIST-style folder (default: synthetic data with --sizes tiny)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", choices=["standard", "tiny"], default="standard")
    p.add_argument("--json", default=None, help="write the JSON here (default: stdout)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    s = Settings(args.quick, args.sizes == "tiny")
    blas_threads = next((i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"), None)
    setting = f"torch{args.threads}-blas{blas_threads}"
    report = {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runtime": f"Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}",
        "mode": args.mode, "quick": args.quick, "sizes": args.sizes,
        "torch_threads": torch.get_num_threads(), "blas_threads": blas_threads, "setting": setting,
        "blas": blas_info(),
        "loadavg_start": os.getloadavg()[0],
    }
    results = []
    if args.mode != "gemm":
        if args.data is None and args.sizes != "tiny":
            sys.exit("--data DIR is required (except with --sizes tiny)")
        x, y = load_data(args.data)
        report.update({"data": args.data or "synthetic", "samples": int(x.shape[0]), "optimizer": args.optimizer})
        results.append(bench_train(x, y, s, args.optimizer))
        if args.mode != "train-only":
            for batch in (1, s.infer_batch):
                results.append(bench_infer(x, batch, s))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        results.append({"name": "peak_rss", "mode": "train-only" if args.mode == "train-only" else "mlp",
                        "bytes": peak, "mib": round(peak / 1048576.0, 1)})
    if args.mode in ("all", "gemm"):
        for case in (GEMM_TINY if args.sizes == "tiny" else GEMM_STANDARD):
            results.extend(bench_gemm(case, s))
    for r in results:
        r["torch_threads"] = args.threads
        r["blas_threads"] = blas_threads
        r["setting"] = setting
    report["loadavg_end"] = os.getloadavg()[0]
    report["results"] = results
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
