#!/usr/bin/env python3
"""The convolution workloads of `nabla bench --mode lenet_train|resnet_train|cnn_infer|conv` in PyTorch
(oneDNN convolutions on this CPU), same shapes, batch and optimiser, for bench/compare.

    /usr/bin/python3 bench/compare/torch_conv.py --threads 1 --mode lenet_train [--data DIR] [--quick]
"""
import argparse, gzip, json, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_images(data):
    path = os.path.join(data, "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        return torch.rand(6000, 1, 28, 28)
    with gzip.open(path) as f:
        _, n, h, w = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(n * h * w), dtype=np.uint8).reshape(n, 1, h, w)
    return torch.from_numpy(x.astype(np.float32) / 255.0)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, blocks=2, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for i, w in enumerate([width, 2 * width, 4 * width]):
            for b in range(blocks):
                layers.append(Block(cin, w, 2 if (i > 0 and b == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(4 * width, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def per_call(fn, repeats, warm_s=0.3):
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < warm_s or n < 3:
        fn(); n += 1
    per = (time.perf_counter() - t0) / n
    batch = max(1, int(0.05 / per))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t) / batch)
    return float(np.median(samples))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", default="lenet_train", choices=["lenet_train", "resnet_train", "cnn_infer", "conv"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    repeats = 5 if a.quick else 15
    results = []
    if a.mode in ("lenet_train", "resnet_train"):
        x = load_images(a.data)
        y = torch.randint(0, 10, (x.shape[0],))
        model = LeNet5() if a.mode == "lenet_train" else ResNet()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        i = [0]

        def step():
            s = i[0] % (x.shape[0] // 128) * 128
            i[0] += 1
            opt.zero_grad()
            F.cross_entropy(model(x[s:s + 128]), y[s:s + 128]).backward()
            opt.step()
        for _ in range(3):
            step()
        t_warm = time.perf_counter()
        while time.perf_counter() - t_warm < 1.0:
            step()
        rates = []
        for _ in range(max(1, repeats // 2)):
            t = time.perf_counter()
            for _ in range(10):
                step()
            rates.append(10 * 128 / (time.perf_counter() - t))
        results.append({"name": a.mode, "threads": a.threads, "batch": 128, "samples_per_s": round(float(np.median(rates)))})
    elif a.mode == "cnn_infer":
        for name, m in (("lenet5", LeNet5()), ("resnet", ResNet())):
            m.eval()
            one, many = torch.rand(1, 1, 28, 28), torch.rand(256, 1, 28, 28)
            with torch.no_grad():
                lat = per_call(lambda: m(one), repeats)
                thr = per_call(lambda: m(many), repeats)
            results.append({"name": "cnn_infer", "model": name, "threads": a.threads,
                            "latency_us_batch1": round(lat * 1e6, 1), "samples_per_s_batch256": round(256 / thr)})
    else:
        shapes = [("lenet.conv1 1->6 5x5 28x28", 1, 6, 28, 5, 2, 1), ("lenet.conv2 6->16 5x5 14x14", 6, 16, 14, 5, 0, 1),
                  ("resnet 16->16 3x3 28x28", 16, 16, 28, 3, 1, 1), ("resnet 32->32 3x3 14x14", 32, 32, 14, 3, 1, 1),
                  ("resnet 64->64 3x3 7x7", 64, 64, 7, 3, 1, 1), ("resnet 16->32 3x3 s2 28x28", 16, 32, 28, 3, 1, 2)]
        for name, c, o, h, k, p, s in shapes:
            x = torch.randn(128, c, h, h, requires_grad=True)
            w = torch.randn(o, c, k, k, requires_grad=True)
            y = F.conv2d(x, w, padding=p, stride=s)
            dy = torch.randn_like(y)
            flops = 2.0 * y.numel() * c * k * k
            with torch.no_grad():
                fwd = per_call(lambda: F.conv2d(x, w, padding=p, stride=s), repeats)
            bd = per_call(lambda: torch.autograd.grad(F.conv2d(x, w, padding=p, stride=s), x, dy), repeats) - fwd
            bw = per_call(lambda: torch.autograd.grad(F.conv2d(x, w, padding=p, stride=s), w, dy), repeats) - fwd
            results.append({"name": "conv", "layer": name, "threads": a.threads, "batch": 128,
                            "forward_gflops": round(flops / fwd / 1e9, 2), "backward_data_gflops": round(flops / bd / 1e9, 2),
                            "backward_weight_gflops": round(flops / bw / 1e9, 2)})
    print(json.dumps({"torch": torch.__version__, "mode": a.mode, "loadavg": os.getloadavg()[0], "results": results}))


if __name__ == "__main__":
    main()
