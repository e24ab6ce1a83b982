"""deltapq: the theory of KV-cache and activation compression, executable and checkable.

The workflows return the dict of the CLI's JSON report (the same content as ``deltapq ... --json``);
bad input raises ``ValueError`` with the CLI's message.

    import numpy as np, deltapq
    report = deltapq.audit(k)                                  # k: [T, d] float array
    cache = deltapq.audit_stream(kv, layout="L,H,T,D", kind="k_post")
    deltapq.codebook(128, 4)["mse_per_coordinate"]
    deltapq.eval_nll("stories260K.bin", "tok512.bin", "story.txt", kv_scheme="kqv", bits=4, versus="kv")
    codec = deltapq.TurboCodec(128, 4); codes = codec.encode(x); y = codec.decode(codes)
    deltapq.gate_kernel(my_encode, codec.design())             # gate a Python kernel

Plots from saved reports: ``python3 -m deltapq.plot REPORT.json --out DIR``.
"""
from ._deltapq import (  # noqa: F401
    ProductQuantizer,
    ScalarCodec,
    TurboCodec,
    audit,
    audit_stream,
    codebook,
    codebook_check,
    eval_nll,
    gate_check,
    gate_kernel,
    paper_check,
)

__version__ = "0.1.0"
__all__ = [
    "audit", "audit_stream", "eval_nll", "paper_check", "codebook", "codebook_check",
    "ScalarCodec", "TurboCodec", "ProductQuantizer", "gate_check", "gate_kernel",
]
