import os
import shutil
import subprocess

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("DPQ_CLI") or shutil.which("deltapq")
    if not path:
        pytest.skip("DPQ_CLI not set (ctest sets it to the build's deltapq)")
    return path


def run_cli(cli, *args, expect=0):
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == expect, (args, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r


@pytest.fixture(scope="session")
def stream():
    """A correlated stream [T, d] (an AR(1) walk plus noise), float32."""
    rng = np.random.default_rng(7)
    t, d = 400, 8
    walk = np.cumsum(rng.standard_normal((t, d)), axis=0) * 0.1
    return (walk + 0.5 * rng.standard_normal((t, d))).astype(np.float32)


@pytest.fixture(scope="session")
def cache():
    """A KV cache [layers, 2 (k, v), batch 1, heads, T, d], float32."""
    rng = np.random.default_rng(11)
    return (np.cumsum(rng.standard_normal((2, 2, 1, 2, 200, 8)), axis=4) * 0.05
            + 0.1 * rng.standard_normal((2, 2, 1, 2, 200, 8))).astype(np.float32)


def write_safetensors(path, tensors):
    """The format by hand (no safetensors package in Debian 12): u64 LE header length, JSON, raw LE data."""
    import json
    import struct

    header, data = {}, b""
    for name, (a, dtype) in tensors.items():
        if dtype == "BF16":
            raw = (np.ascontiguousarray(a, dtype=np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(a, dtype={"F64": "<f8", "F32": "<f4", "F16": "<f2"}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


@pytest.fixture(scope="session")
def models():
    """The shared llama2.c model's folder: DPQ_MODELS, else ../shared/models next to the repository.
    Absent: skipped, or a failure under CI (as in the C++ tests)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = os.environ.get("DPQ_MODELS") or os.path.join(root, "..", "shared", "models")
    if not os.path.isfile(os.path.join(folder, "stories260K.bin")):
        message = "the shared model is absent: no %s/stories260K.bin (set DPQ_MODELS)" % folder
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder
