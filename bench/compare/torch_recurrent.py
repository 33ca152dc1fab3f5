#!/usr/bin/env python3
"""The PyTorch side of `nabla bench --mode lstm_train|gru_train|ctc` (src/Nabla.Cli/Bench/RecurrentWorkload.cs).

  lstm_train / gru_train  nn.LSTM / nn.GRU (batch_first, hidden 128) reading each 28x28 image as 28 steps
                          of 28 features, the last hidden state into Linear(128, 10), cross-entropy, Adam
                          (lr 1e-3), batch 128, on the same IDX data
  ctc                     F.ctc_loss (mean reduction) and its backward for log-probabilities [100, 32, 11],
                          labels of 30

Prints one JSON document in the format of `nabla bench --json` (read by bench/compare/join.py).
Run lengths follow BenchSettings.cs (--quick as there).

  /usr/bin/python3 bench/compare/torch_recurrent.py --mode lstm_train --threads 1 --data /usr/share/datasets/fashion-mnist --quick
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gzip
import struct

# --- helpers shared in spirit with torch_bench.py (copied: that script also needs threadpoolctl) ---

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




class Classifier(nn.Module):
    def __init__(self, gru):
        super().__init__()
        self.rnn = (nn.GRU if gru else nn.LSTM)(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out = self.rnn(x.view(x.shape[0], 28, 28))
        h = out[1][0] if isinstance(out[1], tuple) else out[1]
        return self.head(h[-1])


def bench_train(x, y, s, gru):
    torch.manual_seed(42)
    model = Classifier(gru)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    n = x.shape[0] // s.batch * s.batch
    state = {"order": torch.randperm(x.shape[0], generator=g), "pos": 0, "loss": float("nan")}

    def step():
        if state["pos"] + s.batch > n:
            state["order"], state["pos"] = torch.randperm(x.shape[0], generator=g), 0
        idx = state["order"][state["pos"]:state["pos"] + s.batch]
        state["pos"] += s.batch
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        state["loss"] = loss.item()

    t0 = time.perf_counter()
    i = 0
    while i < s.train_warmup_steps or time.perf_counter() - t0 < s.train_warmup_seconds:
        step()
        i += 1
    rates, cpu = [], []
    for _ in range(s.repeats):
        t1, c1 = time.perf_counter(), time.process_time()
        for _ in range(s.train_steps):
            step()
        rates.append(s.train_steps * s.batch / (time.perf_counter() - t1))
        cpu.append(1000 * (time.process_time() - c1) / s.train_steps)
    rate = float(np.median(rates))
    return rate, state["loss"], float(np.median(cpu))


def bench_ctc(s, tiny):
    T, N, L, C = (20, 4, 5, 11) if tiny else (100, 32, 30, 11)
    g = torch.Generator().manual_seed(3)
    lp = torch.randn(T, N, C, generator=g).log_softmax(-1).detach().requires_grad_()
    targets = torch.randint(1, C, (N, L), generator=g)
    il = torch.full((N,), T, dtype=torch.long)
    tl = torch.full((N,), L, dtype=torch.long)

    def call():
        lp.grad = None
        F.ctc_loss(lp, targets, il, tl, blank=0, reduction="mean").backward()

    sec = seconds_per_call(call, s)
    calls = 3 if tiny else 50
    c0 = time.process_time()
    for _ in range(calls):
        call()
    return sec, 1000 * (time.process_time() - c0) / calls, (T, N, C, L)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["lstm_train", "gru_train", "ctc"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", choices=["standard", "tiny"], default="standard")
    p.add_argument("--train-steps", type=int, default=None,
                   help="training steps per timed repeat and of the warm-up (for a heavily loaded machine; default: as --quick or not)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    s = Settings(args.quick, args.sizes == "tiny")
    if args.train_steps:
        s.train_steps = s.train_warmup_steps = args.train_steps
        s.train_warmup_seconds = 0
    report = {"machine": f"{cpu_model()}, {os.cpu_count()} cores", "reference": f"PyTorch {torch.__version__}",
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "mode": args.mode, "quick": args.quick, "threads": [args.threads],
              "loadavg_start": os.getloadavg()[0]}
    results = []
    if args.mode == "ctc":
        sec, cpu_ms, (T, N, C, L) = bench_ctc(s, args.sizes == "tiny")
        results.append({"name": "ctc", "threads": args.threads, "batch": N, "steps": T, "classes": C, "label": L,
                        "latency_us": round(sec * 1e6, 3), "samples_per_s": round(N / sec, 1),
                        "cpu_ms_per_call": round(cpu_ms, 3)})
    else:
        x, y = load_data(args.data)
        x = torch.as_tensor(x, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        rate, loss, cpu = bench_train(x, y, s, args.mode == "gru_train")
        results.append({"name": args.mode, "threads": args.threads, "batch": s.batch, "optimizer": "adam",
                        "samples_per_s": round(rate, 1), "ms_per_step": round(1000 * s.batch / rate, 4),
                        "cpu_ms_per_step": round(cpu, 3),
                        "loss": round(loss, 4)})
    report["loadavg_end"] = os.getloadavg()[0]
    report["results"] = results
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
