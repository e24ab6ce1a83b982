#!/usr/bin/env python3
"""The README's Python workflow on a real model: save a KV cache -> audit it -> plot the report.

    deltapq kvdump --model M.bin --tokenizer T.bin --text story.txt --out kv     # stands in for PyTorch
    PYTHONPATH=build/python python3 examples/python_workflow.py kv out

A PyTorch user holds past_key_values, a (k, v) pair per layer of [batch, heads, T, d] tensors; this
script builds exactly that array, [layers, 2, batch, heads, T, d], from the kvdump (post-RoPE keys
and values), saves it as .npz and safetensors as a user would, audits it through the module, writes
out/cache_report.json and out/plots/*.png|svg, and checks that the file readers and the in-memory
array give the same report.
"""
import json
import os
import struct
import sys

import numpy as np

import deltapq
from deltapq import plot


def past_key_values_from_kvdump(kv_dir):
    m = json.load(open(os.path.join(kv_dir, "manifest.json")))
    layers = 1 + max(f["layer"] for f in m["files"])
    heads = 1 + max(f["head"] for f in m["files"])
    pkv = []
    for layer in range(layers):
        pair = []
        for kind in ("k_post", "v"):
            per_head = [np.load(os.path.join(kv_dir, f["path"])) for h in range(heads) for f in m["files"]
                        if f["layer"] == layer and f["head"] == h and f["kind"] == kind]
            pair.append(np.stack(per_head)[None])  # [batch 1, heads, T, d]
        pkv.append(tuple(pair))
    return pkv


def save_safetensors(path, tensors):
    header, data = {}, b""
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main(kv_dir, out):
    os.makedirs(out, exist_ok=True)
    pkv = past_key_values_from_kvdump(kv_dir)
    # 1. save: what a PyTorch user has (torch.stack(...).numpy() gives the same array)
    cache = np.stack([np.stack([k, v]) for k, v in pkv])  # [L, 2, B, H, T, d]
    np.savez_compressed(os.path.join(out, "cache.npz"), kv=cache)
    save_safetensors(os.path.join(out, "cache.safetensors"),
                     {**{"key_cache.%d" % l: k for l, (k, _) in enumerate(pkv)},
                      **{"value_cache.%d" % l: v for l, (_, v) in enumerate(pkv)}})
    # 2. audit
    report = deltapq.audit_stream(cache, layout="L,S,B,H,T,D")
    with open(os.path.join(out, "cache_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    same = [deltapq.audit_stream(os.path.join(out, "cache.npz"), layout="L,S,B,H,T,D"),
            deltapq.audit_stream(os.path.join(out, "cache.safetensors"), layout="B,H,T,D")]
    strip = lambda r: {k: v for k, v in r.items() if k != "input"}
    assert all(strip(r) == strip(report) for r in same), "the file readers and the array give different reports"
    # 3. plot
    for p in plot.plot_reports([report], os.path.join(out, "plots")):
        print(p)
    heads = report["heads"]
    below = sum(1 for h in heads if h["alpha_closed"] is not None and h["alpha_closed"] < 1)
    print("%d streams; alpha*_closed < 1 on %d; source verdicts: %s" % (
        len(heads), below, report.get("domination_for_the_source")))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
