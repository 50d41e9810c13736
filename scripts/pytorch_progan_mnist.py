#!/usr/bin/env python3
"""progan_mnist in PyTorch, to judge counterfeit's progressive GAN against the same recipe.

The networks of `ProGan::mnist()` (src/gan/progressive/networks.rs): G and D start at 7×7, grow
to 14×14 and 28×28, each new block fading in over --fade-steps while the real batch (average-pooled
to the stage's side) is blended the same way. Equalised learning rate on every weight (stored
N(0, 1), used times √(2 / fan-in)), zero biases, LeakyReLU(0.2), pixel norm in G, minibatch
standard deviation (the batch as one group) in D. Adam (--lr, β = (0, 0.99)) restarts at every
stage and keeps its moments at the end of a fade-in; a moving average of G (--g-ema) is what is
sampled. The loss is BCE with the non-saturating G loss, or --loss wgan-gp (Wasserstein, λ = 10
on interpolates, one D step). G's update reads the fakes of the D update, through the updated D,
as counterfeit's trainer does.

At each step of --save-at that falls in the 28×28 stage it writes --n samples of the average to
OUT/pytorch_progan_step_<step>.safetensors (F32 "images" [n, 1, 28, 28], unbounded as G draws
them; the judge clamps to [-1, 1]), which

    cargo run --release --example evaluate -- --images OUT/pytorch_progan_step_1500.safetensors

judges with counterfeit's classifier. Needs torch and numpy:
    python3 scripts/pytorch_progan_mnist.py --save-at 1500 --out out/pytorch
"""
import argparse
import copy
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pytorch_dcgan_mnist import HERE, read_idx_images, save_safetensors

SLOPE = 0.2
NZ = 128


class Eq(nn.Module):
    """A dense or convolution layer with the equalised learning rate."""

    def __init__(self, cin, cout, k=None):
        super().__init__()
        shape = (cout, cin) if k is None else (cout, cin, k, k)
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = (2.0 / (cin * (k or 1) ** 2)) ** 0.5
        self.pad = None if k is None else k // 2

    def forward(self, x):
        w = self.weight * self.scale
        if self.pad is None:
            return F.linear(x, w, self.bias)
        return F.conv2d(x, w, self.bias, padding=self.pad)


def pixel_norm(x):
    return x / torch.sqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def act(x):
    return F.leaky_relu(x, SLOPE)


def up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


def minibatch_std(x):
    s = torch.sqrt(x.var(dim=0, unbiased=False) + 1e-8).mean()
    return torch.cat([x, s.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class Generator(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.ch = ch
        self.dense = Eq(NZ, ch[0] * 49)
        self.conv = Eq(ch[0], ch[0], 3)
        self.blocks = nn.ModuleList(
            nn.ModuleList([Eq(ch[s - 1], ch[s], 3), Eq(ch[s], ch[s], 3)]) for s in range(1, len(ch)))
        self.rgb = nn.ModuleList(Eq(c, 1, 1) for c in ch)

    def forward(self, z, k, alpha=None):
        h = self.dense(pixel_norm(z)).view(-1, self.ch[0], 7, 7)
        h = pixel_norm(act(self.conv(pixel_norm(act(h)))))
        last = h
        for s in range(1, k + 1):
            last = h
            h = up(h)
            for conv in self.blocks[s - 1]:
                h = pixel_norm(act(conv(h)))
        image = self.rgb[k](h)
        if alpha is not None and k > 0:
            image = alpha * image + (1 - alpha) * up(self.rgb[k - 1](last))
        return image


class Discriminator(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.rgb = nn.ModuleList(Eq(1, c, 1) for c in ch)
        self.blocks = nn.ModuleList(
            nn.ModuleList([Eq(ch[s], ch[s], 3), Eq(ch[s], ch[s - 1], 3)]) for s in range(1, len(ch)))
        self.conv = Eq(ch[0] + 1, ch[0], 3)
        self.dense = Eq(ch[0] * 49, ch[0])
        self.out = Eq(ch[0], 1)

    def forward(self, x, k, alpha=None):
        h = act(self.rgb[k](x))
        for s in range(k, 0, -1):
            c1, c2 = self.blocks[s - 1]
            h = F.avg_pool2d(act(c2(act(c1(h)))), 2)
            if alpha is not None and s == k:
                h = alpha * h + (1 - alpha) * act(self.rgb[k - 1](F.avg_pool2d(x, 2)))
        h = act(self.conv(minibatch_std(h)))
        return self.out(act(self.dense(h.flatten(1))))


def stage_params(net, k):
    """The parameters a stage-k network (with its fade-in branch) uses."""
    ps = [p for name, p in net.named_parameters() if not name.startswith(("blocks", "rgb"))]
    for s in range(k):
        ps += list(net.blocks[s].parameters())
    for s in range(max(0, k - 1), k + 1):
        ps += list(net.rgb[s].parameters())
    return ps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage-steps", type=int, default=300)
    ap.add_argument("--fade-steps", type=int, default=300)
    ap.add_argument("--steps", type=int, default=0, help="0: 3 × stage-steps + 2 × fade-steps")
    ap.add_argument("--channels", default="64,32,16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--g-ema", type=float, default=0.99)
    ap.add_argument("--loss", default="bce", choices=["bce", "wgan-gp"])
    ap.add_argument("--save-at", default="", help="steps at which to write samples (default: the last)")
    ap.add_argument("--n", type=int, default=10000, help="samples written each time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/pytorch")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ch = [int(c) for c in args.channels.split(",")]
    stage_steps, fade_steps = args.stage_steps, args.fade_steps
    steps = args.steps or 3 * stage_steps + 2 * fade_steps
    save_at = sorted(int(s) for s in args.save_at.split(",")) if args.save_at else [steps]
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    images = read_idx_images(os.path.join(HERE, "..", "data", "mnist", "mnist-10k-images-idx3-ubyte.gz"))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    G, D = Generator(ch), Discriminator(ch)
    ema = copy.deepcopy(G)
    b = args.batch
    order, pos = np.random.permutation(len(data)), 0

    def phase_at(t):
        """(stage, fading, stage start) of iteration t, as src/gan/progressive/schedule.rs."""
        k = 0
        while k + 1 < len(ch) and stage_steps + k * (fade_steps + stage_steps) <= t:
            k += 1
        start = 0 if k == 0 else stage_steps + (k - 1) * (fade_steps + stage_steps)
        return k, k > 0 and t < start + fade_steps, start

    stage, optG, optD = None, None, None
    start_time = time.time()
    for t in range(steps):
        k, fading, start = phase_at(t)
        if k != stage:  # a new stage: Adam afresh; new layers enter the average as G holds them
            stage = k
            adam = dict(lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
            optG = torch.optim.Adam(stage_params(G, k), **adam)
            optD = torch.optim.Adam(stage_params(D, k), **adam)
            if k > 0:
                ema.blocks[k - 1].load_state_dict(G.blocks[k - 1].state_dict())
                ema.rgb[k].load_state_dict(G.rgb[k].state_dict())
        alpha = min(1.0, (t - start) / fade_steps) if fading else None
        if pos + b > len(order):
            order, pos = np.random.permutation(len(data)), 0
        real = data[order[pos:pos + b]]
        pos += b
        for _ in range(len(ch) - 1 - k):
            real = F.avg_pool2d(real, 2)
        if alpha is not None:
            real = alpha * real + (1 - alpha) * up(F.avg_pool2d(real, 2))
        fake = G(torch.randn(b, NZ), k, alpha)
        optD.zero_grad(set_to_none=True)
        d_real, d_fake = D(real, k, alpha), D(fake.detach(), k, alpha)
        if args.loss == "bce":
            loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        else:
            loss_d = d_fake.mean() - d_real.mean()
            eps = torch.rand(b, 1, 1, 1)
            x = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x, k, alpha).sum(), x, create_graph=True)
            loss_d = loss_d + 10.0 * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss_d.backward()
        optD.step()
        optG.zero_grad(set_to_none=True)
        out = D(fake, k, alpha)
        loss_g = F.softplus(-out).mean() if args.loss == "bce" else -out.mean()
        loss_g.backward()
        optG.step()
        with torch.no_grad():
            for a, p in zip(ema.parameters(), G.parameters()):
                a.mul_(args.g_ema).add_(p, alpha=1 - args.g_ema)
        step = t + 1
        if step % 100 == 0:
            print(f"step {step} stage {k} alpha {1.0 if alpha is None else alpha:.2f}: "
                  f"D {loss_d.item():.3f} G {loss_g.item():.3f}, {time.time() - start_time:.0f} s",
                  flush=True)
        if step in save_at and k == len(ch) - 1:
            with torch.no_grad():
                a_now = None if not fading else min(1.0, (step - start) / fade_steps)
                x = torch.cat([ema(torch.randn(b, NZ), k, a_now) for _ in range((args.n + b - 1) // b)])
            path = os.path.join(args.out, f"pytorch_progan_step_{step}.safetensors")
            save_safetensors(path, "images", x[:args.n].numpy())
            print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
