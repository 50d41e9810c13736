#!/usr/bin/env python3
"""One dcgan28 training step at batch 4, computed by PyTorch, for counterfeit to replay.

Usage (needs torch and numpy; safetensors is not needed, the file is written by hand):

    python3 scripts/pytorch_golden_step.py            # writes tests/golden/dcgan28_step.safetensors
    python3 scripts/pytorch_golden_step.py --recipe r1  # tests/golden/dcgan28_r1_step.safetensors
    python3 scripts/pytorch_golden_step.py --out PATH

--recipe r1 is `dcgan_mnist --recipe r1`'s step: D without its batch norm (so D's parameters
are D.0.weight, D.2.weight, D.5.weight and D.5.bias, with the values of k = 8, 9, 12 and 13
below) and D's loss plus R1's penalty 10/2 · mean ‖∂D(real)/∂real‖², whose gradient with
respect to D's parameters is a second backward. That file holds D's update only (G's is
dcgan's): loss_d, "penalty" [1], D.grad.<p> (loss and penalty), D.penalty_grad.<p> (the
penalty's alone, zero for the bias it does not reach) and D.after.<p>.

The networks are dcgan28 exactly as in scripts/pytorch_dcgan_mnist.py, and every tensor name
is PyTorch's nn.Sequential state_dict name ("0.weight", "2.bias", ...), prefixed "G." or "D.".
Weight layouts are PyTorch's: Linear [out, in], Conv2d [out, in, kh, kw],
ConvTranspose2d [in, out, kh, kw]; everything is flat row-major.

Fixed values (no weights or inputs are stored; they are rebuilt from this formula):

    fixed(n, k, scale, offset)[i] = f32(offset + scale * sin(k * 1000.0 + i * 0.618033988749895))

for i in 0..n, the flat row-major index. Everything inside f32(...) is IEEE float64, evaluated
as written, (k * 1000.0) + (i * 0.618033988749895) with no fused multiply-add, then sin, times
scale, plus offset, and only the result is rounded (to nearest) to float32. k is the ordinal
in this table:

     k  tensor        shape            scale  offset
     1  G.0.weight    [12544, 100]     0.02   0
     2  G.2.weight    [256]  BN gamma  0.02   1.0
     3  G.2.bias      [256]  BN beta   0.02   0
     4  G.4.weight    [256, 128, 4, 4] 0.02   0
     5  G.5.weight    [128]  BN gamma  0.02   1.0
     6  G.5.bias      [128]  BN beta   0.02   0
     7  G.7.weight    [128, 1, 4, 4]   0.02   0
     8  D.0.weight    [64, 1, 4, 4]    0.02   0
     9  D.2.weight    [128, 64, 4, 4]  0.02   0
    10  D.3.weight    [128]  BN gamma  0.02   1.0
    11  D.3.bias      [128]  BN beta   0.02   0
    12  D.6.weight    [1, 6272]        0.02   0
    13  D.6.bias      [1]              0.02   0
    14  z             [4, 100]         1.0    0
    15  real          [4, 1, 28, 28]   0.9    0

BN running stats start at mean 0, var 1.

The step (the order of pytorch_dcgan_mnist.py; both nets in train mode, BN with batch
statistics, eps 1e-5, momentum 0.1, running_var updated with the unbiased batch variance):

    fake = G(z)                                                  # one G forward
    loss_d = BCEWithLogits(D(real), 1) + BCEWithLogits(D(fake.detach()), 0)   # two D forwards,
    loss_d.backward(); save D grads; Adam step on D              # each a mean over the batch
    loss_g = BCEWithLogits(D(fake), 1)                           # third D forward, updated D
    loss_g.backward(); save G grads; Adam step on G

Adam: lr 2e-4, betas (0.5, 0.999), eps 1e-8, no weight decay, PyTorch's formula (first step).
So D's BN running stats have seen 3 forwards (real, fake, G step) and G's one.

The step is run twice, in float32 and in float64 (the same f32 fixed values widened); the file
holds the float64 results rounded to float32 as the reference, and the metadata records the
max |f32 - f64| of every stored tensor so a test can pick an honest tolerance.

Stored tensors (all F32):
    loss_d [1], loss_g [1], fake [4, 1, 28, 28] (= G(z)),
    D.grad.<p>, D.after.<p>, G.grad.<p>, G.after.<p> for every parameter p,
    G.after.2.running_mean/var, G.after.5.running_mean/var, D.after.3.running_mean/var,
    init.<name>.sum / .sumsq for each of the 15 fixed tensors (a check of fixed()).
Subsampling: a tensor with n > 4096 elements is stored as "<name>" [4096] holding the elements
at flat indices (j * 7919) % n for j in 0..4096; smaller tensors are stored whole with their
shape. Every tensor also has "<name>.sum" [1] and "<name>.sumsq" [1]: the sum and the sum of
squares over the full tensor, computed in float64 (from the float64 run), stored as f32.
Metadata (string -> string): format, fixed, subsample, step, reference, torch, numpy,
"shape.<name>" (full shape, a JSON list), "maxdiff.<name>" (max |f32 run - f64 run| over the
stored elements; also for "<name>.sum" and "<name>.sumsq"), "maxdiff_full.<name>" (the same
over the full tensor) and, for gradients, "minabs.<name>" (min |reference| over the stored
elements).

Beware Adam's first step: it moves each parameter by about lr * g / (|g| + eps), i.e. by
almost exactly -lr * sign(g), so wherever |g| is down at rounding noise (around 1e-7 here)
the "after" value can differ by up to 2 * lr = 4e-4 between two honest implementations. A
handful of elements of G.0, G.4 and D.2 are like that (hence maxdiff_full >> maxdiff there);
none of them is among the stored elements, whose |grad| is at least "minabs.*.grad.*".
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "tests", "golden")
DEFAULT_OUT = {"dcgan": os.path.join(GOLDEN, "dcgan28_step.safetensors"),
               "r1": os.path.join(GOLDEN, "dcgan28_r1_step.safetensors")}
R1_GAMMA = 10.0
BATCH = 4
NZ = 100
SUB_N, SUB_STRIDE = 4096, 7919

FIXED_DOC = ("fixed(n, k, scale, offset)[i] = f32(offset + scale * sin(k * 1000.0 + "
             "i * 0.618033988749895)), i in 0..n flat row-major, all in float64 "
             "(no FMA), rounded to nearest f32 at the end")
SUBSAMPLE_DOC = (f"n > {SUB_N}: store elements at flat indices (j * {SUB_STRIDE}) % n for j in "
                 f"0..{SUB_N} as shape [{SUB_N}]; else store whole. <name>.sum and <name>.sumsq "
                 "[1] over the full tensor, computed in float64")
STEP_DOC = ("train mode, BN eps 1e-5 momentum 0.1; fake=G(z); loss_d=bce(D(real),1)+"
            "bce(D(fake.detach()),0); backward; Adam(D); loss_g=bce(D(fake),1) through updated D; "
            "backward; Adam(G); Adam lr 2e-4 betas (0.5,0.999) eps 1e-8")

R1_STEP_DOC = ("as step, with D without batch norm and loss_d's backward of loss_d + "
               "10/2*mean_i |dsum(D(real))/dreal_i|^2 (autograd with create_graph)")

# (k, name, scale, offset) in the order that defines k; shapes come from the modules.
FIXED = [
    (1, "G.0.weight", 0.02, 0.0), (2, "G.2.weight", 0.02, 1.0), (3, "G.2.bias", 0.02, 0.0),
    (4, "G.4.weight", 0.02, 0.0), (5, "G.5.weight", 0.02, 1.0), (6, "G.5.bias", 0.02, 0.0),
    (7, "G.7.weight", 0.02, 0.0),
    (8, "D.0.weight", 0.02, 0.0), (9, "D.2.weight", 0.02, 0.0), (10, "D.3.weight", 0.02, 1.0),
    (11, "D.3.bias", 0.02, 0.0), (12, "D.6.weight", 0.02, 0.0), (13, "D.6.bias", 0.02, 0.0),
    (14, "z", 1.0, 0.0), (15, "real", 0.9, 0.0),
]
INPUT_SHAPES = {"z": (BATCH, NZ), "real": (BATCH, 1, 28, 28)}
# Without its batch norm, D's linear layer moves from index 6 to 5; it keeps its values.
R1_NAMES = {"D.6.weight": "D.5.weight", "D.6.bias": "D.5.bias"}


def fixed_table(recipe):
    """FIXED as `recipe`'s networks name their tensors (r1: D has no batch norm)."""
    if recipe == "dcgan":
        return FIXED
    return [(k, R1_NAMES.get(name, name), s, o) for k, name, s, o in FIXED
            if name not in ("D.3.weight", "D.3.bias")]


def fixed(n, k, scale, offset):
    """The fixed values: float64 all the way, rounded to float32 once at the end."""
    i = np.arange(n, dtype=np.float64)
    return (offset + scale * np.sin(k * 1000.0 + i * 0.618033988749895)).astype(np.float32)


def dcgan28(recipe="dcgan"):
    G = nn.Sequential(
        nn.Linear(NZ, 256 * 7 * 7, bias=False), nn.Unflatten(1, (256, 7, 7)),
        nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False),
        *([nn.BatchNorm2d(128)] if recipe == "dcgan" else []), nn.LeakyReLU(0.2, True),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return G, D


def fixed_values(recipe):
    """Every fixed tensor as float32 numpy, shaped (parameter shapes from a fresh dcgan28)."""
    table = fixed_table(recipe)
    G, D = dcgan28(recipe)
    shapes = {f"G.{n}": tuple(p.shape) for n, p in G.named_parameters()}
    shapes.update({f"D.{n}": tuple(p.shape) for n, p in D.named_parameters()})
    shapes.update(INPUT_SHAPES)
    assert sorted(shapes) == sorted(name for _, name, _, _ in table), "FIXED misses a tensor"
    return {name: fixed(int(np.prod(shapes[name])), k, s, o).reshape(shapes[name])
            for k, name, s, o in table}


def run_step(values, dtype, recipe):
    """One training step in dtype from the fixed values; every result as a float64 array."""
    G, D = dcgan28(recipe)
    G, D = G.to(dtype).train(), D.to(dtype).train()
    with torch.no_grad():
        for prefix, net in (("G.", G), ("D.", D)):
            for n, p in net.named_parameters():
                p.copy_(torch.from_numpy(values[prefix + n]).to(dtype))
    z = torch.from_numpy(values["z"]).to(dtype)
    real = torch.from_numpy(values["real"]).to(dtype)
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    ones = torch.ones(BATCH, 1, dtype=dtype)
    zeros = torch.zeros(BATCH, 1, dtype=dtype)
    out = {}

    def np64(t):
        return t.detach().to(torch.float64).numpy().copy()

    fake = G(z)
    out["fake"] = np64(fake)
    optD.zero_grad(set_to_none=True)
    if recipe == "dcgan":
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        loss_d.backward()
    else:  # r1: the penalty's gradient needs the graph of D's input gradient
        x = real.detach().requires_grad_(True)
        out_real = D(x)
        (g,) = torch.autograd.grad(out_real.sum(), x, create_graph=True)
        penalty = R1_GAMMA / 2 * g.reshape(BATCH, -1).pow(2).sum(1).mean()
        loss_d = bce(out_real, ones) + bce(D(fake.detach()), zeros)
        params = list(D.named_parameters())
        # The penalty's own gradient too: at these weights it is 1-11 % of the whole.
        alone = torch.autograd.grad(penalty, [p for _, p in params], retain_graph=True,
                                    allow_unused=True)
        for (n, p), g_p in zip(params, alone):
            out[f"D.penalty_grad.{n}"] = np64(g_p if g_p is not None else torch.zeros_like(p))
        (loss_d + penalty).backward()
        out["penalty"] = np64(penalty).reshape(1)
    for n, p in D.named_parameters():
        out[f"D.grad.{n}"] = np64(p.grad)
    optD.step()
    out["loss_d"] = np64(loss_d).reshape(1)
    if recipe != "dcgan":  # G's update is dcgan's, which the dcgan file holds
        for n, t in D.state_dict().items():
            out[f"D.after.{n}"] = np64(t)
        return out
    optG.zero_grad(set_to_none=True)
    loss_g = bce(D(fake), ones)
    loss_g.backward()
    for n, p in G.named_parameters():
        out[f"G.grad.{n}"] = np64(p.grad)
    optG.step()

    out["loss_g"] = np64(loss_g).reshape(1)
    for prefix, net in (("G", G), ("D", D)):
        for n, t in net.state_dict().items():
            if not n.endswith("num_batches_tracked"):
                out[f"{prefix}.after.{n}"] = np64(t)
    return out


def subsample(a):
    flat = a.reshape(-1)
    n = flat.size
    if n <= SUB_N:
        return a
    return flat[(np.arange(SUB_N, dtype=np.int64) * SUB_STRIDE) % n]


def save_safetensors(path, tensors, metadata):
    """A safetensors file (a JSON header and raw little-endian data), every tensor F32."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(tensors[name])),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(chunks))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="dcgan", choices=sorted(DEFAULT_OUT),
                    help="dcgan's step, or r1's (D without batch norm, R1's penalty)")
    ap.add_argument("--out", help="the safetensors file to write (default: the recipe's in "
                    "tests/golden)")
    args = ap.parse_args()
    recipe = args.recipe
    path = args.out or DEFAULT_OUT[recipe]
    torch.set_num_threads(1)
    try:
        torch.use_deterministic_algorithms(True)
    except Exception as e:  # not essential: CPU kernels here are deterministic anyway
        print(f"note: use_deterministic_algorithms failed: {e}")

    values = fixed_values(recipe)
    ref = run_step(values, torch.float64, recipe)
    f32 = run_step(values, torch.float32, recipe)
    assert sorted(ref) == sorted(f32)

    tensors = {}
    metadata = {"format": "counterfeit-golden-1", "fixed": FIXED_DOC, "subsample": SUBSAMPLE_DOC,
                "step": STEP_DOC if recipe == "dcgan" else R1_STEP_DOC, "reference": "float64 run rounded to f32",
                "torch": torch.__version__, "numpy": np.__version__}

    def put(name, full64, full32):
        stored64, stored32 = subsample(full64), subsample(full32)
        tensors[name] = stored64
        tensors[name + ".sum"] = np.array([full64.sum()])
        tensors[name + ".sumsq"] = np.array([np.square(full64).sum()])
        metadata["shape." + name] = json.dumps(list(full64.shape))
        metadata["maxdiff." + name] = f"{np.abs(stored32 - stored64).max():.3e}"
        metadata["maxdiff_full." + name] = f"{np.abs(full32 - full64).max():.3e}"
        metadata["maxdiff." + name + ".sum"] = f"{abs(full32.sum() - full64.sum()):.3e}"
        metadata["maxdiff." + name + ".sumsq"] = (
            f"{abs(np.square(full32).sum() - np.square(full64).sum()):.3e}")
        if "grad." in name:
            metadata["minabs." + name] = f"{np.abs(stored64).min():.3e}"

    for _, name, _, _ in fixed_table(recipe):
        v = values[name].astype(np.float64)
        tensors[f"init.{name}.sum"] = np.array([v.sum()])
        tensors[f"init.{name}.sumsq"] = np.array([np.square(v).sum()])
    for name in sorted(ref):
        put(name, ref[name], f32[name])
    save_safetensors(path, tensors, metadata)

    print(f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"loss_d {ref['loss_d'][0]:.9f} (f32 run {f32['loss_d'][0]:.9f})")
    if "loss_g" in ref:
        print(f"loss_g {ref['loss_g'][0]:.9f} (f32 run {f32['loss_g'][0]:.9f})")
    print(f"{'tensor':24} {'shape':18} {'stored':14} {'max|ref|':>9} "
          f"{'max|f32-f64|':>12} {'(full)':>9}")
    for name in sorted(ref):
        a = ref[name]
        print(f"{name:24} {str(list(a.shape)):18} {str(list(np.shape(tensors[name]))):14} "
              f"{np.abs(a).max():9.3e} {metadata['maxdiff.' + name]:>12} "
              f"{metadata['maxdiff_full.' + name]:>9}")
    size = os.path.getsize(path)
    print(f"wrote {os.path.relpath(path)}: {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    main()
