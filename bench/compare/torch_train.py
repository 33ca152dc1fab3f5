#!/usr/bin/env python3
"""The PyTorch twin of `nabla train` for the whole-process comparison (train_compare.sh).

Same model (784-256-128-10, ReLU, PyTorch's default init), optimiser (SGD with momentum, or
Adam), learning rate, batch, epochs, shuffling every epoch, thread count and data (an MNIST-style
IDX folder, pixels / 255), then the test accuracy; prints one line per epoch with its wall time.
"""
import argparse, gzip, os, struct, sys, time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    _, _, dtype, ndim = struct.unpack(">BBBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, *names):
    for n in names:
        for ext in ("", ".gz"):
            p = os.path.join(directory, n + ext)
            if os.path.exists(p):
                return p
    sys.exit(f"{directory}: none of {names} found")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    # Bytes stay bytes, as in nabla: each batch is converted to float32 when gathered.
    x = torch.from_numpy(read_idx(find(a.data, "train-images-idx3-ubyte")).reshape(-1, 784).copy())
    y = torch.from_numpy(read_idx(find(a.data, "train-labels-idx1-ubyte")).astype(np.int64))
    tx = torch.from_numpy(read_idx(find(a.data, "t10k-images-idx3-ubyte")).reshape(-1, 784).copy())
    ty = torch.from_numpy(read_idx(find(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64))
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = (torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum) if a.optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=a.lr))
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        total = 0.0
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            xb = x[idx].float().div_(255.0)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            correct = sum((model(tx[s:s + 1000].float().div_(255.0)).argmax(1) == ty[s:s + 1000]).sum().item()
                          for s in range(0, tx.shape[0], 1000))
        print(f"epoch {epoch + 1}: loss {total / n:.4f}, test accuracy {correct / tx.shape[0]:.4f}, {time.perf_counter() - t0:.2f} s", flush=True)


if __name__ == "__main__":
    main()
