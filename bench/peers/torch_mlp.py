#!/usr/bin/python3
"""The PyTorch peer of `minga bench ml`: the same 784-256-128-10 MLP (ReLU,
softmax cross-entropy, He-initialised weights, zero biases), Adam lr 0.001,
batch 64, reading the same gzipped IDX files, pixels scaled by 1/255.
Prints seconds per epoch and the test accuracy in the same shape as minga.

  bench/peers/torch_mlp.py [--epochs N] [--threads T] [--data-dir DIR]
"""
import argparse
import gzip
import time

import numpy as np
import torch


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise SystemExit(f"{path}: bad magic {got:#010x}, expected {magic:#010x}")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, prefix):
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz", 0x803)
    y = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz", 0x801)
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data_dir, "train")
    xte, yte = load(args.data_dir, "t10k")
    layers = []
    sizes = [784, 256, 128, 10]
    for i in range(3):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    print(f"torch: 784-256-128-10, Adam lr 0.001, batch 64, {args.threads} threads, "
          f"{len(xtr)} train / {len(xte)} test rows")
    total = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        model.train()
        loss_sum = 0.0
        for start in range(0, len(xtr), 64):
            idx = perm[start:start + 64]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
        secs = time.perf_counter() - t0
        total += secs
        with torch.no_grad():
            out = model(xte)
            acc = (out.argmax(1) == yte).float().mean().item()
            test_loss = loss_fn(out, yte).item()
        print(f"epoch {epoch}: {secs:.3f} s, train loss {loss_sum / len(xtr):.4f}, "
              f"test loss {test_loss:.4f}, test accuracy {100 * acc:.2f}%")
    print(f"torch: {total / args.epochs:.3f} s/epoch (mean of {args.epochs}), test accuracy {100 * acc:.2f}%")


if __name__ == "__main__":
    main()
