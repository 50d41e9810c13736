#!/usr/bin/env python3
"""The dcgan_mnist recipes in PyTorch, to judge counterfeit's samples step for step.

dcgan28 (docs/BENCHMARKS.md), the 10,000 bundled digits in [-1, 1], batch 64, weights N(0, 0.02).
--recipe picks how it trains, as `dcgan_mnist --recipe` does:
  dcgan    Adam 2e-4 (beta 0.5, 0.999), BCE with the non-saturating G loss, batch norm in D,
           one D and one G update per step;
  sngan    the hinge loss, spectral norm on every weight of D and no batch norm, Adam 2e-4
           (0.5, 0.999), a moving average of G's weights (0.999) that is sampled;
  wgan-gp  the Wasserstein loss plus 10·(‖∇D(x̂)‖ − 1)² at x̂ = εx + (1 − ε)G(z), no batch norm
           in D, 5 D updates per G update, Adam 1e-4 (0, 0.9);
  r1       BCE plus 10/2·‖∇D(x)‖² on the real batch, no batch norm in D, Adam 2e-4 (0.5, 0.999).
G's update reads the fakes of the last D update, through the updated D.
At each step of --save-at it writes --n samples (generated in batches of 64 in train mode,
as counterfeit samples with batch statistics) to OUT/pytorch_<recipe>_step_<step>.safetensors as one
F32 tensor "images" [n, 1, 28, 28] in [-1, 1], which

    cargo run --release --example evaluate -- --images OUT/pytorch_dcgan_step_3000.safetensors

judges with counterfeit's classifier. sngan samples its moving average of G there, and G itself
to OUT/pytorch_sngan_g_step_<step>.safetensors (what `evaluate --no-ema` reads of counterfeit's).
Needs torch and numpy:
    python3 scripts/pytorch_dcgan_mnist.py --save-at 300,1000,3000 --out out/pytorch
"""
import argparse
import copy
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

NZ = 100
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)


def dcgan28(recipe="dcgan"):
    G = nn.Sequential(
        nn.Linear(NZ, 256 * 7 * 7, bias=False), nn.Unflatten(1, (256, 7, 7)),
        nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), nn.Tanh())
    bn = [nn.BatchNorm2d(128)] if recipe == "dcgan" else []
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), *bn, nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return G, D


def spectral(D):
    """Spectral norm on every weight of D (one power iteration per training forward)."""
    for i, m in enumerate(D):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            D[i] = nn.utils.parametrizations.spectral_norm(m)
    return D


def input_gradient(D, x):
    """∂(Σ D(x))/∂x per sample, kept in the graph so a penalty on it trains D."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, g.reshape(len(x), -1)


def init_weights(m):
    # counterfeit's Init::Normal(0.02): every weight N(0, 0.02), biases 0, BN gamma 1, beta 0.
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def save_safetensors(path, name, array):
    """A one-tensor safetensors file (the format is a JSON header and raw little-endian data)."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape),
                                "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save-at", default="300,1000,3000", help="steps at which to write samples")
    ap.add_argument("--n", type=int, default=10000, help="samples written each time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/pytorch")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--recipe", default="dcgan", choices=["dcgan", "sngan", "wgan-gp", "r1"])
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    save_at = sorted(int(s) for s in args.save_at.split(","))
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    images = read_idx_images(os.path.join(HERE, "..", "data", "mnist", "mnist-10k-images-idx3-ubyte.gz"))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    recipe = args.recipe
    G, D = dcgan28(recipe)
    G.apply(init_weights)
    D.apply(init_weights)
    if recipe == "sngan":
        D = spectral(D)
    lr, betas, d_steps = (1e-4, (0.0, 0.9), 5) if recipe == "wgan-gp" else (2e-4, (0.5, 0.999), 1)
    optD = torch.optim.Adam(D.parameters(), lr=lr, betas=betas, eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), lr=lr, betas=betas, eps=1e-8)
    ema = copy.deepcopy(G) if recipe == "sngan" else None
    bce = nn.BCEWithLogitsLoss()
    relu = torch.nn.functional.relu
    b = 64
    ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
    order, pos = np.random.permutation(len(data)), 0
    start = time.time()
    for step in range(1, save_at[-1] + 1):
        for _ in range(d_steps):
            if pos + b > len(order):  # a fresh permutation each epoch, like counterfeit's gather
                order, pos = np.random.permutation(len(data)), 0
            real = data[order[pos:pos + b]]
            pos += b
            fake = G(torch.randn(b, NZ))
            optD.zero_grad(set_to_none=True)
            if recipe == "dcgan":
                loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            elif recipe == "sngan":
                loss_d = relu(1 - D(real)).mean() + relu(1 + D(fake.detach())).mean()
            elif recipe == "wgan-gp":
                loss_d = D(fake.detach()).mean() - D(real).mean()
                eps = torch.rand(b, 1, 1, 1)
                _, g = input_gradient(D, eps * real + (1 - eps) * fake.detach())
                loss_d = loss_d + 10.0 * ((g.norm(2, dim=1) - 1) ** 2).mean()
            else:  # r1
                out, g = input_gradient(D, real)
                loss_d = bce(out, ones) + bce(D(fake.detach()), zeros)
                loss_d = loss_d + 10.0 / 2 * g.pow(2).sum(1).mean()
            loss_d.backward()
            optD.step()
        optG.zero_grad(set_to_none=True)
        out = D(fake)
        loss_g = -out.mean() if recipe in ("sngan", "wgan-gp") else bce(out, ones)
        loss_g.backward()
        optG.step()
        if ema is not None:
            with torch.no_grad():
                for a, p in zip(ema.parameters(), G.parameters()):
                    a.mul_(0.999).add_(p, alpha=0.001)
        if step in save_at:
            x = draw(ema if ema is not None else G, args.n, b)
            path = os.path.join(args.out, f"pytorch_{recipe}_step_{step}.safetensors")
            save_safetensors(path, "images", x.numpy())
            if ema is not None:  # G itself too, as `evaluate --no-ema` reads counterfeit's
                rng = torch.get_rng_state()  # later steps draw as they would without it
                path_g = os.path.join(args.out, f"pytorch_{recipe}_g_step_{step}.safetensors")
                save_safetensors(path_g, "images", draw(G, args.n, b).numpy())
                torch.set_rng_state(rng)
            print(f"step {step}: D {loss_d.item():.3f} G {loss_g.item():.3f}, "
                  f"{time.time() - start:.0f} s, wrote {path}", flush=True)


def draw(sampler, n, b):
    """n samples in batches of b, in train mode like counterfeit's; the running stats are kept."""
    with torch.no_grad():
        state = {k: v.clone() for k, v in sampler.state_dict().items()}
        x = torch.cat([sampler(torch.randn(b, NZ)) for _ in range((n + b - 1) // b)])[:n]
        sampler.load_state_dict(state)  # sampling in train mode must not move the running stats
    return x


if __name__ == "__main__":
    main()
