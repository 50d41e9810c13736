#!/usr/bin/env python3
"""The semisup_mnist recipe in PyTorch, to check counterfeit's semi-supervised GAN against it.

Salimans et al. 2016 on the bundled digits, as `cargo run --release --example semisup_mnist`
trains it: the first 9,000 digits train (a class-balanced random subset labelled), the last
1,000 test. D: Gaussian noise (0.3, then 0.5) before each dense layer of 1000-500-250-250-250
ReLU units and 10 class logits (the fake logit fixed at 0); G: z ~ U(0, 1)^100 -> 500 -> 500
(batch norm, ReLU) -> 784 sigmoid. Batch 100 labelled + 100 unlabelled + 100 generated,
Adam 3e-3 (beta 0.5, 0.999), both rates x0.1 for the last --slow-fraction of the steps, G by
feature matching on D's last hidden layer. Prints the test error every --eval-every steps
and a JSON line at the end. Needs torch and numpy:

    python3 scripts/pytorch_semisup_mnist.py --labels 100 --steps 2000 --seed 1
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_PART = 9000


def read_idx(path, images):
    with gzip.open(path, "rb") as f:
        if images:
            magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
            assert magic == 2051, f"{path}: not an IDX image file"
            return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows * cols)
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 2049, f"{path}: not an IDX label file"
        return np.frombuffer(f.read(n), dtype=np.uint8)


class Noise(nn.Module):
    def __init__(self, sigma):
        super().__init__()
        self.sigma = sigma

    def forward(self, x):
        return x + self.sigma * torch.randn_like(x) if self.training else x


def discriminator(hidden):
    layers, width = [], 784
    for i, units in enumerate(hidden):
        layers += [Noise(0.3 if i == 0 else 0.5), nn.Linear(width, units), nn.ReLU()]
        width = units
    features = nn.Sequential(*layers)
    head = nn.Sequential(Noise(0.5), nn.Linear(width, 10))
    return features, head


def generator():
    return nn.Sequential(
        nn.Linear(100, 500, bias=False), nn.BatchNorm1d(500), nn.ReLU(),
        nn.Linear(500, 500, bias=False), nn.BatchNorm1d(500), nn.ReLU(),
        nn.Linear(500, 784), nn.Sigmoid())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", type=int, default=100, help="labelled digits (a multiple of 10)")
    ap.add_argument("--steps", type=int, default=1500, help="training steps")
    ap.add_argument("--seed", type=int, default=1, help="seed of the subset, weights and noise")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    ap.add_argument("--slow-fraction", type=float, default=0.3,
                    help="the last this fraction of the steps runs at lr/10")
    ap.add_argument("--eval-every", type=int, default=250, help="print the test error every N steps")
    ap.add_argument("--hidden", default="1000,500,250,250,250",
                    help="units of D's hidden layers, comma-separated")
    ap.add_argument("--alone", action="store_true", help="train D on the labelled digits alone")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = os.path.join(HERE, "..", "data", "mnist")
    x = read_idx(os.path.join(data, "mnist-10k-images-idx3-ubyte.gz"), True).astype(np.float32) / 255
    y = read_idx(os.path.join(data, "mnist-10k-labels-idx1-ubyte.gz"), False).astype(np.int64)
    xtr, ytr, xte, yte = x[:TRAIN_PART], y[:TRAIN_PART], x[TRAIN_PART:], y[TRAIN_PART:]
    per = args.labels // 10
    picked = np.concatenate([rng.permutation(np.flatnonzero(ytr == c))[:per] for c in range(10)])
    xl, yl = torch.tensor(xtr[picked]), torch.tensor(ytr[picked])
    xu, xt, yt = torch.tensor(xtr), torch.tensor(xte), torch.tensor(yte)

    feats, head = discriminator([int(u) for u in args.hidden.split(",")])
    g = generator()
    d_params = list(feats.parameters()) + list(head.parameters())
    opt_d = torch.optim.Adam(d_params, lr=args.lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    drop_at = round((1 - args.slow_fraction) * args.steps)
    b = 100

    def test_error():
        feats.eval(), head.eval()
        with torch.no_grad():
            err = (head(feats(xt)).argmax(1) != yt).float().mean().item()
        feats.train(), head.train()
        return err

    start = time.time()
    for step in range(1, args.steps + 1):
        if step - 1 == drop_at:
            for opt in (opt_d, opt_g):
                for group in opt.param_groups:
                    group["lr"] = args.lr * 0.1
        lab = torch.randint(len(xl), (b,))
        loss_d = F.cross_entropy(head(feats(xl[lab])), yl[lab])
        if not args.alone:
            unl = xu[torch.randint(len(xu), (b,))]
            fake = g(torch.rand(b, 100))
            lse_real = torch.logsumexp(head(feats(unl)), 1)
            lse_fake = torch.logsumexp(head(feats(fake.detach())), 1)
            loss_d = loss_d + 0.5 * (F.softplus(-lse_real).mean() + F.softplus(lse_fake).mean())
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if not args.alone:
            real_f = feats(unl).detach().mean(0)
            fake_f = feats(fake).mean(0)
            loss_g = ((fake_f - real_f) ** 2).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        if step % args.eval_every == 0 or step == args.steps:
            print(f"step {step}: test error {100 * test_error():.2f} %  ({time.time() - start:.0f} s)",
                  flush=True)
    print(json.dumps({"engine": "pytorch", "labels": args.labels, "seed": args.seed,
                      "steps": args.steps, "hidden": args.hidden, "alone": args.alone, "test_error": test_error()}))


if __name__ == "__main__":
    main()
