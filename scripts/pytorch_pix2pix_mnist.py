#!/usr/bin/env python3
"""The pix2pix_mnist recipe in PyTorch, to judge counterfeit's translations step for step.

The tasks as counterfeit makes them from the bundled digits (the first 9,000 train, the last
1,000 are the test digits): outline (3x3 dilation minus erosion of the bytes, the window
clipped at the edges) -> digit, or superres (each 4x4 tile the rounded mean of its bytes) ->
digit; pixels in [-1, 1]. The U-Net and the PatchGAN of counterfeit's gan::translation at
--width 32, weights N(0, 0.02), biases 0; batch 16, Adam 2e-4 (beta 0.5, 0.999) for both,
D's loss (BCE over every patch, real + fake) halved, G's loss BCE + 100 * L1; --l1-only trains
G on the L1 distance alone. At each step of --save-at it writes G's translations of the 1,000
test inputs (batch statistics in chunks of 16, the last topped up with the first inputs,
dropout off, as counterfeit translates) to OUT/pytorch_<task>_step_<step>.safetensors as one
F32 tensor "images" [1000, 1, 28, 28] in [-1, 1], which

    cargo run --release --example pix2pix_mnist -- --task outline \\
        --judge-images OUT/pytorch_outline_step_3000.safetensors

judges as counterfeit's own. Needs torch and numpy:
    python3 scripts/pytorch_pix2pix_mnist.py --task outline --save-at 1000,3000 --out out/pytorch
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

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = 9000
BATCH = 16


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)


def outline(images):
    """3x3 dilation minus erosion of uint8 images [n, h, w], the window clipped at the edges."""
    n, h, w = images.shape
    lo = np.full((n, h, w), 255, np.uint8)
    hi = np.zeros((n, h, w), np.uint8)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
            xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
            lo[:, yd, xd] = np.minimum(lo[:, yd, xd], images[:, ys, xs])
            hi[:, yd, xd] = np.maximum(hi[:, yd, xd], images[:, ys, xs])
    return hi - lo


def pixelate(images, k=4):
    """Each k x k tile replaced by the rounded mean of its bytes (k divides 28)."""
    n, h, w = images.shape
    tiles = images.reshape(n, h // k, k, w // k, k).astype(np.uint32).sum(axis=(2, 4))
    means = ((tiles + k * k // 2) // (k * k)).astype(np.uint8)
    return np.repeat(np.repeat(means, k, axis=1), k, axis=2)


class UNet(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.e1 = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2))
        self.e2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w),
                                nn.LeakyReLU(0.2))
        self.inner = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.ReLU())
        self.d2 = nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, bias=False),
                                nn.BatchNorm2d(2 * w), nn.Dropout(0.5), nn.ReLU())
        self.d1 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, 4, 2, 1, bias=False),
                                nn.BatchNorm2d(w), nn.ReLU())
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * w, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(e1)
        d2 = self.d2(self.inner(e2))
        d1 = self.d1(torch.cat([d2, e2], 1))
        return self.out(torch.cat([d1, e1], 1))


def patch_d(w):
    return nn.Sequential(
        nn.Conv2d(2, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 1, 1, 1, 0))


def init_weights(m):
    # counterfeit's Init::Normal(0.02): every weight N(0, 0.02), biases 0, BN gamma 1, beta 0.
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def translate(G, inputs):
    """Batch statistics in chunks of BATCH (the last topped up with the first inputs), dropout
    off, running statistics untouched."""
    state = {k: v.clone() for k, v in G.state_dict().items()}
    G.train()
    for m in G.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), BATCH):
            part = inputs[i:i + BATCH]
            chunk = torch.cat([part, inputs[:BATCH - len(part)]]) if len(part) < BATCH else part
            out.append(G(chunk)[:len(part)])
    G.load_state_dict(state)
    G.train()
    return torch.cat(out)


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
    ap.add_argument("--task", choices=["outline", "superres"], default="outline")
    ap.add_argument("--l1-only", action="store_true", help="no D: G on the L1 distance alone")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--save-at", default="1000,3000", help="steps at which to write translations")
    ap.add_argument("--seed", type=int, default=1)
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
    made = outline(digits) if args.task == "outline" else pixelate(digits)
    scale = lambda a: torch.from_numpy(a.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    inputs, targets = scale(made[:TRAIN]), scale(digits[:TRAIN])
    test_inputs = scale(made[TRAIN:])
    G = UNet(args.width)
    G.apply(init_weights)
    D = patch_d(args.width)
    D.apply(init_weights)
    adam = lambda p: torch.optim.Adam(p, lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    optD, optG = adam(D.parameters()), adam(G.parameters())
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    b = BATCH
    order, pos = np.random.permutation(TRAIN), 0
    start = time.time()
    for step in range(1, save_at[-1] + 1):
        if pos + b > len(order):  # a fresh permutation each epoch, like counterfeit's gather
            order, pos = np.random.permutation(TRAIN), 0
        idx = order[pos:pos + b]
        pos += b
        x, y = inputs[idx], targets[idx]
        fake = G(x)
        loss_d = torch.zeros(())
        if not args.l1_only:
            optD.zero_grad(set_to_none=True)
            real_logits = D(torch.cat([x, y], 1))
            fake_logits = D(torch.cat([x, fake.detach()], 1))
            loss_d = bce(real_logits, torch.ones_like(real_logits)) + \
                bce(fake_logits, torch.zeros_like(fake_logits))
            (0.5 * loss_d).backward()
            optD.step()
        optG.zero_grad(set_to_none=True)
        loss_l1 = l1(fake, y)
        loss_g = 100.0 * loss_l1
        if not args.l1_only:
            logits = D(torch.cat([x, fake], 1))
            loss_g = loss_g + bce(logits, torch.ones_like(logits))
        loss_g.backward()
        optG.step()
        if step % 250 == 0:
            print(f"step {step}: D {loss_d.item():.3f} L1 {loss_l1.item():.4f}, "
                  f"{time.time() - start:.0f} s", flush=True)
        if step in save_at:
            x = translate(G, test_inputs)
            kind = "_l1only" if args.l1_only else ""
            path = os.path.join(args.out, f"pytorch_{args.task}{kind}_step_{step}.safetensors")
            save_safetensors(path, "images", x.numpy())
            print(f"step {step}: wrote {path}", flush=True)


if __name__ == "__main__":
    main()
