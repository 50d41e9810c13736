#!/usr/bin/env python3
"""The cyclegan_mnist recipe in PyTorch, to judge counterfeit's translations step for step.

The domains as counterfeit makes them from the bundled digits: A is the first 4,500 training
digits eroded (the minimum over the 2x2 block of a pixel and its right, lower and lower-right
neighbours, clipped at the edges), B the next 4,500 dilated (3x3 maximum, clipped); the test
digits are the last 1,000, eroded and dilated. Pixels in [-1, 1].
The networks of counterfeit's gan::translation: the residual generator (--width 16, --blocks
2, instance norm with a learnable scale and shift, eps 1e-5, zero padding) and the PatchGAN
with instance norm, weights N(0, 0.02), biases 0. Batch 4 of each domain, Adam 2e-4 (beta
0.5, 0.999) for all four networks, constant for the first half of the run and then falling
linearly to zero at its end (--decay-from); the generators' loss: least squares against 1 through
both Ds, 10 * L1 of both round trips, 5 * L1 of both identities; then each D's least-squares
loss (real against 1, fakes against 0, halved) on fakes made before the generators' update,
the first half of each fake batch swapped for earlier fakes drawn from a pool of 50 (once it
holds any), the fresh ones then stored in it. Translations come from a moving average of each
generator's weights (avg = D·avg + (1 − D)·weights after each update, --g-ema D, 0.999 as in
cyclegan_mnist; --g-ema 0 translates with the generators themselves, as the paper does).

At each step of --save-at it writes, for the 1,000 test digits, G_AB(thin) as "thick",
G_BA(thick) as "thin" and both round trips ("thin_round_trip", "thick_round_trip"), each F32
[1000, 1, 28, 28] in [-1, 1], to OUT/pytorch_cyclegan_step_<step>.safetensors, which

    cargo run --release --example cyclegan_mnist -- \\
        --judge-images OUT/pytorch_cyclegan_step_6000.safetensors

judges as counterfeit's own. The run is as long as the last --save-at step (6000, as
cyclegan_mnist's default run). Needs torch and numpy:
    python3 scripts/pytorch_cyclegan_mnist.py --threads 1 --out out/pytorch
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

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = 9000
BATCH = 4


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)


def morph(images, pick, start, offsets):
    """Minimum (np.minimum, 255) or maximum (np.maximum, 0) over the window of `offsets` in
    each direction, clipped at the edges."""
    n, h, w = images.shape
    out = np.full((n, h, w), start, np.uint8)
    for dy in offsets:
        for dx in offsets:
            ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
            xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
            out[:, yd, xd] = pick(out[:, yd, xd], images[:, ys, xs])
    return out


def erode(images):
    return morph(images, np.minimum, 255, (0, 1))


def dilate(images):
    return morph(images, np.maximum, 0, (-1, 0, 1))


def norm(c):
    return nn.InstanceNorm2d(c, affine=True, eps=1e-5)


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), norm(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), norm(c))

    def forward(self, x):
        return x + self.body(x)


def generator(w, blocks):
    return nn.Sequential(
        nn.Conv2d(1, w, 7, 1, 3, bias=False), norm(w), nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, 2, 1, bias=False), norm(2 * w), nn.ReLU(),
        nn.Conv2d(2 * w, 4 * w, 3, 2, 1, bias=False), norm(4 * w), nn.ReLU(),
        *[Residual(4 * w) for _ in range(blocks)],
        nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), norm(2 * w), nn.ReLU(),
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), norm(w), nn.ReLU(),
        nn.Conv2d(w, 1, 7, 1, 3), nn.Tanh())


def discriminator(w):
    return nn.Sequential(
        nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), norm(2 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 1, 1, 1, 0))


def init_weights(m):
    # counterfeit's Init::Normal(0.02): every weight N(0, 0.02), biases 0, norm scale 1, shift 0.
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class Pool:
    """A ring of earlier fakes: the first `replayed` of each batch are swapped for stored
    ones drawn uniformly (once any are stored), then the fresh batch is stored after the
    ones before it."""

    def __init__(self, capacity, replayed):
        self.ring, self.capacity, self.replayed, self.filled, self.next = None, capacity, replayed, 0, 0

    def __call__(self, fresh):
        fresh = fresh.detach()
        mixed = fresh.clone()
        if self.filled > 0:
            picks = torch.randint(0, self.filled, (self.replayed,))
            mixed[:self.replayed] = self.ring[picks]
        if self.ring is None:
            self.ring = torch.zeros((self.capacity,) + tuple(fresh.shape[1:]))
        for img in fresh[:self.capacity]:
            self.ring[self.next] = img
            self.next = (self.next + 1) % self.capacity
            self.filled = min(self.filled + 1, self.capacity)
        return mixed


def save_safetensors(path, tensors):
    """A safetensors file of F32 arrays (a JSON header and raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--save-at", default="1000,2000,3000,4000,5000,6000",
                    help="steps at which to write translations; the last ends the run")
    ap.add_argument("--decay-from", type=float, default=0.5,
                    help="fraction of the run (the last --save-at step) at a constant rate; the "
                         "rate then falls linearly to zero at the end (1: constant)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--g-ema", type=float, default=0.999,
                    help="translate with a moving average of each generator's weights, this "
                         "decay (0: the generators themselves)")
    ap.add_argument("--out", default="out/pytorch")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    save_at = sorted(int(s) for s in args.save_at.split(","))
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    digits = read_idx_images(os.path.join(HERE, "..", "data", "mnist", "mnist-10k-images-idx3-ubyte.gz"))
    scale = lambda a: torch.from_numpy(a.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    half = TRAIN // 2
    domain_a, domain_b = scale(erode(digits[:half])), scale(dilate(digits[half:TRAIN]))
    test_thin, test_thick = scale(erode(digits[TRAIN:])), scale(dilate(digits[TRAIN:]))
    g_ab, g_ba = generator(args.width, args.blocks), generator(args.width, args.blocks)
    d_a, d_b = discriminator(args.width), discriminator(args.width)
    for net in (g_ab, g_ba, d_a, d_b):
        net.apply(init_weights)
    adam = lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_g = adam(list(g_ab.parameters()) + list(g_ba.parameters()))
    opt_d = adam(list(d_a.parameters()) + list(d_b.parameters()))
    # Update t (0-based) at the full rate before `decay_from`, then linearly to 0 at the end.
    steps = save_at[-1]
    decay_from = round(args.decay_from * steps)
    factor = lambda t: 1.0 if t < decay_from else max(0, steps - t) / (steps - decay_from)
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_g, opt_d)]
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    emas = [copy.deepcopy(g_ab), copy.deepcopy(g_ba)] if args.g_ema else None
    pool_a, pool_b = Pool(50, BATCH // 2), Pool(50, BATCH // 2)
    b = BATCH
    orders = [np.random.permutation(half), np.random.permutation(half)]
    pos = 0
    start = time.time()
    for step in range(1, save_at[-1] + 1):
        if pos + b > half:  # a fresh permutation of each domain each epoch
            orders, pos = [np.random.permutation(half), np.random.permutation(half)], 0
        a, bb = domain_a[orders[0][pos:pos + b]], domain_b[orders[1][pos:pos + b]]
        pos += b
        fake_b, fake_a = g_ab(a), g_ba(bb)
        opt_g.zero_grad(set_to_none=True)
        logits_b, logits_a = d_b(fake_b), d_a(fake_a)
        cycle = l1(g_ba(fake_b), a) + l1(g_ab(fake_a), bb)
        loss_g = mse(logits_b, torch.ones_like(logits_b)) + mse(logits_a, torch.ones_like(logits_a)) \
            + 10.0 * cycle + 5.0 * (l1(g_ab(bb), bb) + l1(g_ba(a), a))
        loss_g.backward()
        opt_g.step()
        if emas:
            with torch.no_grad():
                for avg, g in zip(emas, (g_ab, g_ba)):  # names apart from the batch's a
                    for p_avg, p_g in zip(avg.parameters(), g.parameters()):
                        p_avg.mul_(args.g_ema).add_(p_g, alpha=1 - args.g_ema)
        opt_d.zero_grad(set_to_none=True)
        loss_d = 0.0
        for d, real, fake in ((d_a, a, pool_a(fake_a)), (d_b, bb, pool_b(fake_b))):
            r, f = d(real), d(fake)
            loss = mse(r, torch.ones_like(r)) + mse(f, torch.zeros_like(f))
            (0.5 * loss).backward()
            loss_d += loss.item()
        opt_d.step()
        for schedule in schedules:
            schedule.step()
        if step % 250 == 0:
            print(f"step {step}: D {loss_d:.3f} G {loss_g.item():.3f} cycle {cycle.item():.4f}, "
                  f"{time.time() - start:.0f} s", flush=True)
        if step in save_at:
            with torch.no_grad():  # instance norm: each image on its own statistics
                ab, ba = emas if emas else (g_ab, g_ba)
                thick, thin = ab(test_thin), ba(test_thick)
                arrays = {"thick": thick, "thin": thin,
                          "thin_round_trip": ba(thick), "thick_round_trip": ab(thin)}
            path = os.path.join(args.out, f"pytorch_cyclegan_step_{step}.safetensors")
            save_safetensors(path, {k: v.numpy() for k, v in arrays.items()})
            print(f"step {step}: wrote {path}", flush=True)


if __name__ == "__main__":
    main()
