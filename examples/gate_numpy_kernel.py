#!/usr/bin/env python3
"""A user's quantizer kernel in numpy (float32), gated by deltapq -- the README's "Gate your kernel".

    deltapq vectors --out vectors
    python3 examples/gate_numpy_kernel.py vectors outputs      # your kernel writes outputs/CASE/*.npy
    deltapq gate --vectors vectors --outputs outputs            # exit 0: every code exact or acceptable

For every case of the corpus the kernel reads design.json and input.npy and writes what a production
kernel stores: unpacked codes, the refusal mask, norms (turbo), QJL sign bits and residual norms
(turbo with QJL), and its reconstruction of its own codes. --bug boundary-lower sends values exactly
on a cell boundary to the lower cell (the kind of bug the gate exists to catch); --only FAMILY writes
one family's cases (the others are then skipped by the gate).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

f32 = np.float32


def scalar_kernel(design, x, bug):
    d = design["dim"]
    bits = np.array(design["bits"], dtype=np.int64)
    clip = np.array(design["clip"], dtype=f32)
    mean = np.array(design.get("mean", [0.0] * d), dtype=f32)
    basis = np.array(design["basis"], dtype=f32).reshape(d, d) if "basis" in design else None
    step = (clip * f32(2.0) / (2.0 ** bits).astype(f32)).astype(f32)
    with np.errstate(over="ignore", invalid="ignore"):
        y = (x - mean) @ basis if basis is not None else x - mean
        t = (y + clip) / step
    refused = ~np.isfinite(t).all(axis=1)
    t = np.where(np.isfinite(t), t, 0)
    k = np.ceil(t) - 1 if bug == "boundary-lower" else np.floor(t)
    codes = np.clip(k, 0, (2 ** bits) - 1).astype(np.int64)
    q = (-clip + (codes.astype(f32) + f32(0.5)) * step).astype(f32)
    decoded = mean + (q @ basis.T if basis is not None else q)
    return {"codes": codes, "refused": refused, "decoded": decoded.astype(f32)}


def turbo_kernel(design, x):
    d, rot = design["dim"], design["rotation"]
    cent = np.array(design["centroids"], dtype=f32)
    thr = np.array(design["thresholds"], dtype=f32)
    if rot["kind"] == "hadamard":
        h = np.ones((1, 1), dtype=f32)
        while h.shape[0] < d:
            h = np.block([[h, h], [h, -h]])
        r = (h * np.array(rot["signs"], dtype=f32)[None, :] / f32(math.sqrt(d))).astype(f32)  # R = H D / sqrt(d)
    elif rot["kind"] == "dense":
        r = np.array(rot["matrix"], dtype=f32).reshape(d, d)
    else:
        r = np.eye(d, dtype=f32)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt((x * x).sum(axis=1, dtype=f32)).astype(f32)
    refused = ~(np.isfinite(x).all(axis=1) & np.isfinite(norms))
    safe = np.where(refused[:, None], f32(0), x)
    inv = np.where((norms > 0) & ~refused, f32(1) / np.where(norms > 0, norms, f32(1)), f32(0)).astype(f32)
    y = (safe * inv[:, None]) @ r.T
    codes = np.searchsorted(thr, y, side="right")  # the number of thresholds <= y
    v = cent[codes]
    out = {"codes": codes, "refused": refused, "norms": np.where(refused, f32(0), norms)}
    if "qjl" in design:
        m = design["qjl"]["rows"]
        s = np.array(design["qjl"]["sketch"], dtype=f32).reshape(m, d)
        res = (y - v).astype(f32)
        out["signs"] = (res @ s.T >= 0).astype(np.uint8)
        out["residual_norms"] = np.sqrt((res * res).sum(axis=1, dtype=f32)).astype(f32)
        pm = out["signs"].astype(f32) * f32(2) - f32(1)
        v = v + (f32(math.sqrt(math.pi / 2) / m) * out["residual_norms"])[:, None] * (pm @ s)
    out["decoded"] = (out["norms"][:, None] * (v @ r)).astype(f32)  # ||x|| R^T v
    return out


def pq_kernel(design, x):
    d, mb, k = design["dim"], design["blocks"], 2 ** design["bits"]
    dm = d // mb
    c = np.array(design["centroids"], dtype=f32).reshape(mb, k, dm)
    codes = np.zeros((x.shape[0], mb), dtype=np.int64)
    refused = ~np.isfinite(x).all(axis=1)
    safe = np.where(refused[:, None], f32(0), x)
    with np.errstate(over="ignore", invalid="ignore"):
        for b in range(mb):
            dist = ((safe[:, None, b * dm:(b + 1) * dm] - c[b][None]) ** 2).sum(axis=2, dtype=f32)
            refused |= ~np.isfinite(dist).all(axis=1)
            codes[:, b] = np.argmin(np.where(np.isfinite(dist), dist, np.inf), axis=1)  # ties: the lowest index
    decoded = np.concatenate([c[b][codes[:, b]] for b in range(mb)], axis=1)
    return {"codes": codes, "refused": refused, "decoded": decoded.astype(f32)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vectors")
    ap.add_argument("outputs")
    ap.add_argument("--bug", choices=["boundary-lower"])
    ap.add_argument("--only", choices=["scalar", "turbo", "pq"])
    a = ap.parse_args()
    index = json.load(open(os.path.join(a.vectors, "vectors.json")))
    for case in index["cases"]:
        if a.only and case["family"] != a.only:
            continue
        cdir = os.path.join(a.vectors, case["name"])
        design = json.load(open(os.path.join(cdir, "design.json")))
        x = np.load(os.path.join(cdir, "input.npy")).astype(f32)
        fam = design["family"]
        out = scalar_kernel(design, x, a.bug) if fam == "scalar" else turbo_kernel(design, x) if fam == "turbo" else pq_kernel(design, x)
        odir = os.path.join(a.outputs, case["name"])
        os.makedirs(odir, exist_ok=True)
        for name, arr in out.items():
            np.save(os.path.join(odir, name + ".npy"), arr.astype(np.int32) if arr.dtype == bool else arr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
