#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into fuzz/corpus/<harness>/ (standard library only).
Run from anywhere; the files are small and checked in."""
import json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(harness, name, data):
    d = os.path.join(root, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def npy(descr, shape, payload, fortran=False, version=1):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    head = b"\x93NUMPY" + bytes([version, 0]) + (struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h)))
    return head + h.encode() + payload

f4 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
put("fuzz_npy", "f4_3x2.npy", npy("<f4", "(3, 2)", f4))
put("fuzz_npy", "f8_fortran.npy", npy("<f8", "(2, 3)", struct.pack("<6d", 1, 2, 3, 4, 5, 6), fortran=True))
put("fuzz_npy", "f2_v2.npy", npy("<f2", "(2, 2)", struct.pack("<4H", 0x3c00, 0x4000, 0x4400, 0x7bff), version=2))
put("fuzz_npy", "nan.npy", npy("<f4", "(1, 2)", struct.pack("<2f", 1, float("nan"))))
put("fuzz_npy", "truncated.npy", npy("<f8", "(4, 4)", b"\x00" * 17))

def checkpoint(dim=2, hidden=2, layers=1, heads=1, kv=1, vocab=4, seq=4, shared=True, value=0.125):
    head = dim // heads
    floats = vocab * dim + layers * dim + layers * dim * dim + 2 * layers * kv * head * dim + layers * dim * dim \
        + layers * dim + 3 * layers * hidden * dim + dim + seq * head + (0 if shared else vocab * dim)
    return struct.pack("<7i", dim, hidden, layers, heads, kv, vocab if shared else -vocab, seq) + \
        struct.pack("<%df" % floats, *([value] * floats))

put("fuzz_checkpoint", "tiny.bin", checkpoint())
put("fuzz_checkpoint", "separate_classifier.bin", checkpoint(shared=False))
put("fuzz_checkpoint", "two_layers_gqa.bin", checkpoint(dim=4, hidden=3, layers=2, heads=2, kv=1, vocab=5, seq=3))
put("fuzz_checkpoint", "huge_weights.bin", checkpoint(value=3e38))

def tokenizer(extra):
    out = struct.pack("<i", 8)
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + extra
    for i, p in enumerate(pieces):
        b = p.encode()
        out += struct.pack("<fi", float(i % 7), len(b)) + b
    return out

for name, text, extra in [("merges", b"abcabc ab", [" ", "a", "b", "c", "ab", "bc", "abc", " ab"]),
                          ("ties", b"aaaa", ["a", "aa", "aaa"]), ("utf8", "é☃x".encode(), ["é", "x"])]:
    put("fuzz_tokenizer", name + ".bin", bytes([len(text)]) + text + tokenizer(extra))

manifests = {
    "valid": {"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy", "bytes": 104}],
              "queries": [{"layer": 0, "query_head": 0, "kv_head": 0, "path": "a.npy"}]},
    "types": {"files": [{"layer": "0", "head": 0, "kind": "v", "path": 5}]},
    "escape": {"files": [{"layer": 0, "head": 0, "kind": "k_pre", "path": "../a.npy"}]},
    "duplicate": {"files": [{"layer": 0, "head": 0, "kind": "v", "path": "a.npy"}] * 2},
}
for name, m in manifests.items():
    put("fuzz_manifest", name + ".json", json.dumps(m).encode())

tables = {"optimal_2bit": (2, {"centroids": [-0.4, -0.12, 0.12, 0.4]}),
          "with_thresholds": (1, {"centroids": [-0.2, 0.2], "thresholds": [0.0]}),
          "strings": (2, {"centroids": ["-0.4", "-0.1", "0.1", "0.4"]}),
          "wrong_size": (3, {"centroids": [1, 2, 3]})}
for name, (bits, t) in tables.items():
    put("fuzz_codebook", name + ".json", bytes([bits - 1]) + json.dumps(t).encode())

# Tensor files (.npz via zipfile, safetensors by hand): fuzz_tensor_file.
import io, zipfile

def npz(members, compression):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return b.getvalue()

def safetensors(entries):
    header, data = {}, b""
    for name, (dtype, shape, raw) in entries.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data

put("fuzz_tensor_file", "stored.npz", npz({"k": npy("<f4", "(3, 2)", f4)}, zipfile.ZIP_STORED))
put("fuzz_tensor_file", "deflated.npz", npz({"k": npy("<f4", "(3, 2)", f4), "v": npy(">f8", "(1, 2, 3)", struct.pack(">6d", 1, 2, 3, 4, 5, 6))},
                                            zipfile.ZIP_DEFLATED))
put("fuzz_tensor_file", "f32.safetensors", safetensors({"k": ("F32", [3, 2], f4)}))
put("fuzz_tensor_file", "mixed.safetensors", safetensors({"a": ("BF16", [2, 2], struct.pack("<4H", 0x3f80, 0x4000, 0xc040, 0x0001)),
                                                          "b": ("F16", [1, 2, 2], struct.pack("<4H", 0x3c00, 0x4000, 0x4400, 0x7bff)),
                                                          "__metadata__": ("F64", [1], struct.pack("<d", 1))}))
put("fuzz_tensor_file", "plain.npy", npy("<f4", "(3, 2)", f4))
