#!/usr/bin/env python3
"""The PyTorch twin of `nabla train` for the whole-process comparison (train_compare.sh).

Same model (784-256-128-10, ReLU, PyTorch's default init), optimiser (SGD with momentum, or
Adam), constant learning rate, batch, epochs, shuffling every epoch, thread count and data (an
MNIST-style IDX folder, pixels / 255), and the same work as `nabla train` on a folder with a test
file: the training file is split 80/20 with the seed, the model trains on the 80 % (loss and
accuracy of each epoch), is validated on the 20 % after every epoch (loss and accuracy), and
meets the test file once at the end. Prints one line per epoch with its wall time.
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
    # nabla holds out 20 % of the training file (seeded) for validation; so does this twin.
    split = torch.randperm(x.shape[0])
    n_train = x.shape[0] - x.shape[0] // 5
    vx, vy = x[split[n_train:]], y[split[n_train:]]
    x, y = x[split[:n_train]], y[split[:n_train]]
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = (torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum) if a.optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=a.lr))
    loss_fn = nn.CrossEntropyLoss()

    def evaluate(ex, ey):
        model.eval()
        total, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, ex.shape[0], 1000):
                out = model(ex[s:s + 1000].float().div_(255.0))
                total += loss_fn(out, ey[s:s + 1000]).item() * out.shape[0]
                correct += (out.argmax(1) == ey[s:s + 1000]).sum().item()
        return total / ex.shape[0], correct / ex.shape[0]

    n = x.shape[0]
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        total, correct = 0.0, 0
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            xb = x[idx].float().div_(255.0)
            yb = y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        vloss, vacc = evaluate(vx, vy)
        print(f"epoch {epoch + 1}: loss {total / n:.4f}, acc {correct / n:.4f}, val loss {vloss:.4f}, val acc {vacc:.4f}, "
              f"{time.perf_counter() - t0:.2f} s", flush=True)
    tloss, tacc = evaluate(tx, ty)
    print(f"test: loss {tloss:.4f}, accuracy {tacc:.4f}", flush=True)

if __name__ == "__main__":
    main()
