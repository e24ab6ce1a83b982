"""The Python module against the CLI on the same data, the tensor formats, the codecs, the gate, and
a bad-input test per entry point (ValueError with the CLI's message)."""
import json
import os
import subprocess

import numpy as np
import pytest

import deltapq
from conftest import run_cli, write_safetensors


def without_input(report):
    report = dict(report)
    report.pop("input", None)
    return report


# ---- round trips against the CLI's JSON ------------------------------------------------------------

def test_audit_matches_the_cli_json(cli, stream, tmp_path):
    np.save(tmp_path / "k.npy", stream)
    r = subprocess.run([cli, "audit", str(tmp_path / "k.npy"), "--bits", "3", "--json", str(tmp_path / "a.json")],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr  # 1: a claim fails on this data -- a finding, the JSON is written either way
    from_cli = json.load(open(tmp_path / "a.json"))
    from_py = deltapq.audit(stream, bits=3)
    assert without_input(from_py) == without_input(from_cli)
    assert from_py["input"] == "<array>"


def test_audit_kappa_auto_matches_the_cli_and_refuses_other_words(cli, stream, tmp_path):
    np.save(tmp_path / "k.npy", stream)
    r = subprocess.run([cli, "audit", str(tmp_path / "k.npy"), "--bits", "6", "--kappa", "auto", "--no-bootstrap",
                        "--json", str(tmp_path / "a.json")], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    from_cli = json.load(open(tmp_path / "a.json"))
    from_py = deltapq.audit(stream, bits=6, kappa="auto", bootstrap=False)
    assert without_input(from_py) == without_input(from_cli)
    assert from_py["kappa"] == from_py["kappa_auto"]["kappa"]
    with pytest.raises(ValueError, match="kappa"):
        deltapq.audit(stream, kappa="optimal")
    with pytest.raises(ValueError, match="kappa"):
        deltapq.audit(stream, kappa=[3])
    # audit_stream: the CLI's JSON, each stream's kappa in its head
    r = subprocess.run([cli, "audit-stream", str(tmp_path / "k.npy"), "--kind", "v", "--bits", "6", "--kappa", "auto",
                        "--no-bootstrap", "--json", str(tmp_path / "s.json")], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    from_cli = json.load(open(tmp_path / "s.json"))
    from_py = deltapq.audit_stream(stream, kind="v", bits=6, kappa="auto", bootstrap=False)
    assert without_input(from_py) == without_input(from_cli)
    assert from_py["kappa"] == "auto" and from_py["heads"][0]["kappa"] != 3.0
    with pytest.raises(ValueError, match="kappa"):
        deltapq.audit_stream(stream, kind="v", kappa="best")


def test_audit_stream_matches_the_cli_json_on_a_5d_cache(cli, cache, tmp_path):
    np.save(tmp_path / "cache.npy", cache)
    run_cli(cli, "audit-stream", tmp_path / "cache.npy", "--layout", "L,S,B,H,T,D", "--json", tmp_path / "s.json")
    from_cli = json.load(open(tmp_path / "s.json"))
    from_py = deltapq.audit_stream(cache, layout="L,S,B,H,T,D")
    assert without_input(from_py) == without_input(from_cli)
    assert len(from_py["heads"]) == 2 * 2 * 2
    assert {(h["layer"], h["head"], h["kind"]) for h in from_py["heads"]} == {
        (l, h, k) for l in range(2) for h in range(2) for k in ("k_post", "v")}


def test_audit_stream_mappings_give_the_same_streams(cache):
    # {name: array} with names carrying layer and kind, and {(layer, head, kind): [T, d]}.
    by_name = {}
    by_key = {}
    for l in range(2):
        by_name["model.layers.%d.k_cache" % l] = cache[l, 0, 0]
        by_name["model.layers.%d.v_cache" % l] = cache[l, 1, 0]
        for h in range(2):
            by_key[(l, h, "k_post")] = cache[l, 0, 0, h]
            by_key[(l, h, "v")] = cache[l, 1, 0, h]
    a = deltapq.audit_stream(cache, layout="L,S,B,H,T,D", bootstrap=False)
    b = deltapq.audit_stream(by_name, layout="H,T,D", bootstrap=False)
    c = deltapq.audit_stream(by_key, bootstrap=False)
    assert without_input(a) == without_input(b) == without_input(c)


def test_codebook_matches_the_cli_json(cli, tmp_path):
    run_cli(cli, "codebook", "--dim", 64, "--bits", 3, "--digits", 30, "--json", tmp_path / "c.json")
    assert deltapq.codebook(64, 3, 30) == json.load(open(tmp_path / "c.json"))


def test_codebook_check_finds_a_narrow_table():
    cb = deltapq.codebook(128, 4, 20)
    good = deltapq.codebook_check({"centroids": cb["centroids"], "thresholds": cb["thresholds"]}, 128, 4)
    narrow = deltapq.codebook_check({"centroids": [float(c) * 0.61 for c in cb["centroids"]],
                                     "thresholds": [float(t) * 0.61 for t in cb["thresholds"]]}, 128, 4)
    assert good["passes"] is True and narrow["passes"] is False
    assert narrow["excess_mse_pct"] > 14


# ---- formats -------------------------------------------------------------------------------------

def test_every_format_gives_the_same_audit(cli, stream, tmp_path):
    """A stream as big-endian float64 .npy, .npz (stored and deflated) and safetensors F32 audits to the
    same report as the float32 .npy; BF16 and F16 are read (their values are rounded, so only shape)."""
    np.save(tmp_path / "ref.npy", stream)
    np.save(tmp_path / "be.npy", stream.astype(">f8"))
    np.savez(tmp_path / "one.npz", keys=stream)
    np.savez_compressed(tmp_path / "two.npz", keys=stream, values=stream * 2)
    write_safetensors(tmp_path / "k.safetensors", {"k": (stream, "F32")})
    write_safetensors(tmp_path / "half.safetensors", {"k": (stream, "BF16"), "v": (stream, "F16")})
    reports = {}
    for name, extra in [("ref.npy", []), ("be.npy", []), ("one.npz", []), ("two.npz", ["--tensor", "keys"]),
                        ("k.safetensors", []), ("half.safetensors", ["--tensor", "k"])]:
        out = tmp_path / (name + ".json")
        r = subprocess.run([cli, "audit", str(tmp_path / name), *extra, "--no-bootstrap", "--json", str(out)],
                                         capture_output=True, text=True)
        assert r.returncode in (0, 1), r.stderr
        reports[name] = without_input(json.load(open(out)))
    for name in ("be.npy", "one.npz", "two.npz", "k.safetensors"):
        assert reports[name] == reports["ref.npy"], name
    assert reports["half.safetensors"]["tokens"] == stream.shape[0]
    # Several tensors and no --tensor: exit 2 naming them.
    r = run_cli(cli, "audit", tmp_path / "two.npz", expect=2)
    assert "holds 2 tensors" in r.stderr and "'keys'" in r.stderr and "--tensor" in r.stderr


def test_hf_style_safetensors_cache(cli, cache, tmp_path):
    """DynamicCache-style names: key_cache.{i} / value_cache.{i} of [batch, heads, T, d]."""
    tensors = {}
    for l in range(2):
        tensors["key_cache.%d" % l] = (cache[l, 0], "F32")
        tensors["value_cache.%d" % l] = (cache[l, 1], "F32")
    write_safetensors(tmp_path / "hf.safetensors", tensors)
    run_cli(cli, "audit-stream", tmp_path / "hf.safetensors", "--layout", "B,H,T,D", "--no-bootstrap",
            "--json", tmp_path / "hf.json")
    a = without_input(json.load(open(tmp_path / "hf.json")))
    b = without_input(deltapq.audit_stream(cache, layout="L,S,B,H,T,D", bootstrap=False))
    assert a == b
    # A rank-4 tensor without --layout: exit 2 saying what to pass.
    r = run_cli(cli, "audit-stream", tmp_path / "hf.safetensors", expect=2)
    assert "--layout" in r.stderr and "key_cache.0" in r.stderr


@pytest.mark.parametrize("name,blob,message", [
    ("short.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}", "truncated"),
    ("badjson.safetensors", b"\x02\x00\x00\x00\x00\x00\x00\x00{x", "not valid JSON"),
    ("huge.safetensors", b"\xff\xff\xff\xff\xff\x00\x00\x00{", "100 MB"),
    ("offsets.safetensors", None, "data_offsets"),
    ("dtype.safetensors", None, "dtype I32 is not supported"),
    ("nan.safetensors", None, "NaN at row 1, column 0"),
    ("notzip.npz", b"PK\x03\x04garbage", "not a readable .npz"),
    ("random.bin", b"hello world, not a tensor", "not a tensor file"),
])
def test_bad_tensor_files_exit_2_naming_the_problem(cli, tmp_path, name, blob, message):
    import struct
    path = tmp_path / name
    if blob is None:
        if name == "offsets.safetensors":
            h = json.dumps({"k": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 64]}}).encode()
            blob = struct.pack("<Q", len(h)) + h + b"\x00" * 16
        elif name == "dtype.safetensors":
            h = json.dumps({"k": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
            blob = struct.pack("<Q", len(h)) + h + b"\x00" * 16
        else:
            write_safetensors(path, {"k": (np.array([[1, 2], [np.nan, 4], [5, 6]], dtype=np.float32), "F32")})
    if blob is not None:
        path.write_bytes(blob)
    r = run_cli(cli, "audit", path, expect=2)
    assert message in r.stderr and name in r.stderr, r.stderr
    with pytest.raises(ValueError, match=message.split(" at ")[0].replace("(", r"\(")):
        deltapq.audit_stream(str(path), layout="T,D", kind="v")


# ---- codecs ----------------------------------------------------------------------------------------

def test_scalar_codec_kappa_auto_beats_three_sigma_on_heavy_tails():
    """kappa='auto' picks each coordinate's MSE-optimal clip on x: on Student-t(3) rows at 8 bits the
    3-sigma clip cuts the tails, so the chosen clips must code x with less error than kappa = 3 (the
    objective the search minimises, here evaluated through the fast codec itself; about 0.013 of it here)."""
    rng = np.random.default_rng(4)
    x = (rng.standard_t(3, size=(4096, 32)) * np.linspace(0.5, 2, 32)).astype(np.float32)
    for basis in ("eigen", "identity"):
        def mse(codec):
            y = codec.decode(codec.encode(x))
            return float(((y - x) ** 2).sum(axis=1).mean())
        fixed = mse(deltapq.ScalarCodec.fit(x, bits=8, kappa=3.0, basis=basis))
        chosen = mse(deltapq.ScalarCodec.fit(x, bits=8, kappa="auto", basis=basis))
        assert chosen < fixed, (basis, chosen, fixed)  # kappa = 3 is one of the candidates: a dead search ties it
    for bad in ("optimal", [3], -1.0):
        with pytest.raises(ValueError, match="kappa"):
            deltapq.ScalarCodec.fit(x, bits=8, kappa=bad)


def test_codecs_round_trip_at_the_distortion_the_theory_predicts():
    """Relative MSE of unit-scale Gaussian rows: TurboQuant = the sphere codebook's MSE per vector (D2);
    with QJL (m rows) the sign sketch of the residual r adds (pi d / (2 m) - 1) ||r||^2 (its estimator
    variance), so the total is mse (pi d / (2 m)); the matched scalar codec stays under 5 % at 4 bits."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2048, 128)).astype(np.float32)
    mse = {b: float(deltapq.codebook(128, b)["mse_per_vector"]) for b in (3, 4)}
    cases = [(deltapq.TurboCodec(128, 4), mse[4]), (deltapq.TurboCodec(128, 3, qjl_rows=64, seed=5), mse[3] * np.pi * 128 / (2 * 64)),
             (deltapq.ScalarCodec.fit(x, bits=4), None), (deltapq.ScalarCodec.fit(x, bits=4, basis="identity"), None)]
    for codec, expected in cases:
        codes = codec.encode(x)
        assert codes.dtype == np.uint8 and codes.shape == (2048, codec.bytes_per_row)
        y = codec.decode(codes)
        assert y.dtype == np.float32 and y.shape == x.shape
        rel = float((((y - x) ** 2).sum(axis=1) / (x ** 2).sum(axis=1)).mean())
        if expected is None:
            assert rel < 0.05, (codec, rel)
        else:
            assert abs(rel / expected - 1) < 0.1, (codec, rel, expected)
    pq = deltapq.ProductQuantizer(128, 16, 4)
    pq.train(x)
    assert pq.encode(x).shape == (2048, 16)
    # Non-contiguous and float64 input is converted; a wrong width is a ValueError.
    assert np.array_equal(deltapq.TurboCodec(128, 4).encode(np.asfortranarray(x.astype(np.float64))),
                          deltapq.TurboCodec(128, 4).encode(x))


def numpy_turbo_kernel(design, bug=None):
    """A user's TurboQuant kernel in numpy (the example's), optionally with the too-narrow table."""
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("example", os.path.join(here, "..", "..", "examples", "gate_numpy_kernel.py"))
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    d = dict(design)
    if bug == "narrow":
        d["centroids"] = [c * 0.61 for c in d["centroids"]]
        d["thresholds"] = [t * 0.61 for t in d["thresholds"]]
    return lambda x: ex.turbo_kernel(d, x.astype(np.float32))


def test_gate_kernel_passes_a_correct_kernel_and_catches_a_narrow_table():
    design = deltapq.TurboCodec(64, 3, qjl_rows=32, seed=2).design()
    ok = deltapq.gate_kernel(numpy_turbo_kernel(design), design, batches=8, rows=32, seed=1)
    assert ok["passes"] is True and ok["rows_checked"] > 0
    bad = deltapq.gate_kernel(numpy_turbo_kernel(design, "narrow"), design, batches=8, rows=32, seed=1)
    assert bad["passes"] is False
    ce = bad["counterexample"]
    assert ce["fails_alone"] is True and ce["x"].shape == (64,)
    assert ce["report"]["codes"]["wrong"] > 0 and ce["report"]["verdict"] == "fails"


def test_gate_check_on_arrays_names_the_wrong_entry():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    design = deltapq.TurboCodec(64, 4).design()
    out = numpy_turbo_kernel(design)(x)
    good = deltapq.gate_check(design, x, out["codes"], norms=out["norms"], decoded=out["decoded"], refused=out["refused"])
    assert good["verdict"] == "passes"
    codes = out["codes"].copy()
    codes[3, 7] = (codes[3, 7] + 1) % 16
    bad = deltapq.gate_check(design, x, codes, norms=out["norms"], refused=out["refused"])
    assert bad["verdict"] == "fails" and bad["codes"]["wrong"] == 1
    assert any(o["row"] == 3 and o["column"] == 7 for o in bad["worst"])


# ---- bad input: one per entry point ----------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda s: deltapq.audit(s.astype(np.int32)), "not a float dtype"),
    (lambda s: deltapq.audit(s[:, 0]), "is not \\[rows, dim\\]"),
    (lambda s: deltapq.audit(np.where(np.arange(s.size).reshape(s.shape) == 9, np.inf, s)), "Inf at row 1, column 1"),
    (lambda s: deltapq.audit(s, bits=17), "bits = 17"),
    (lambda s: deltapq.audit(s, pq="4y4"), "pq = '4y4': expected MxBITS"),
    (lambda s: deltapq.audit(s, pq="2x4", pq_transform="zca"), "unknown PQ transform 'zca'"),
    (lambda s: deltapq.audit(s, pq="3x4"), "does not divide"),
    (lambda s: deltapq.audit_stream(s), "no k/v axis"),
    (lambda s: deltapq.audit_stream(s[None], layout="H,T,X"), "'X' is not an axis"),
    (lambda s: deltapq.audit_stream({(0, 0, "q"): s}), "kind 'q'"),
    (lambda s: deltapq.audit_stream(s, kind="v", bits=0), "bits = 0"),
    (lambda s: deltapq.paper_check(kv="/nonexistent/kv"), "no such directory or file"),
    (lambda s: deltapq.codebook(128, 0), "bits"),
    (lambda s: deltapq.codebook_check({"centroids": [0.1]}, 128, 4), "needs 'centroids' and 'thresholds'"),
    (lambda s: deltapq.TurboCodec(128, 4).encode(s), "8 columns; the codec has dim 128"),
    (lambda s: deltapq.TurboCodec(128, 4).decode(np.zeros((2, 3), np.uint8)), "expected a uint8 array"),
    (lambda s: deltapq.TurboCodec(128, 4, rotation="fft"), "rotation = 'fft'"),
    (lambda s: deltapq.ScalarCodec.fit(s, bits=9), "bits = 9"),
    (lambda s: deltapq.ProductQuantizer(10, 3, 4), "not divisible by M = 3"),
    (lambda s: deltapq.gate_check({"family": "nope", "dim": 8}, s, s), '"family" = "nope" is not'),
    (lambda s: deltapq.gate_check(deltapq.TurboCodec(8, 2).design(), s, np.zeros((2, 8), np.int32)), "codes have shape"),
    (lambda s: deltapq.gate_kernel(lambda x: x, deltapq.TurboCodec(8, 2).design(), batches=0), "batches = 0"),
])
def test_bad_input_raises_value_error(stream, call, message):
    with pytest.raises(ValueError, match=message):
        call(stream)


def test_the_gil_is_released_during_an_audit(stream):
    """Another Python thread runs while an audit computes (a held GIL would stop it)."""
    import threading
    import time
    big = np.tile(stream, (8, 1)) + np.random.default_rng(1).standard_normal((stream.shape[0] * 8, 8)).astype(np.float32)
    done = threading.Event()
    ticks = []

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    deltapq.audit(big, replicates=100, precision=256)  # the full MPFR path: the adaptive one is too quick to tell
    t1 = time.perf_counter()
    done.set()
    th.join()
    inside = [t for t in ticks if t0 < t < t1]
    assert t1 - t0 > 0.05, "the audit was too quick to tell"
    assert len(inside) >= 5, (len(inside), t1 - t0)


# ---- CSV next to JSON ------------------------------------------------------------------------------

def test_csv_tables_carry_the_json_tables(cli, cache, stream, tmp_path):
    import csv
    np.save(tmp_path / "cache.npy", cache)
    run_cli(cli, "audit-stream", tmp_path / "cache.npy", "--layout", "L,S,B,H,T,D", "--no-bootstrap", "--json",
            tmp_path / "s.json", "--csv", tmp_path / "s_csv")
    rep = json.load(open(tmp_path / "s.json"))
    rows = list(csv.DictReader(open(tmp_path / "s_csv" / "heads.csv")))
    assert len(rows) == len(rep["heads"])
    for row, head in zip(rows, rep["heads"]):
        assert (int(row["layer"]), int(row["head"]), row["kind"]) == (head["layer"], head["head"], head["kind"])
        assert float(row["alpha_closed"]) == head["alpha_closed"]  # %.17g: the double, exactly
        assert int(row["zones.green"]) == head["zones"]["green"]
    summary = dict(csv.reader(open(tmp_path / "s_csv" / "summary.csv")))
    assert float(summary["kappa"]) == rep["kappa"]
    np.save(tmp_path / "k.npy", stream)
    r = subprocess.run([cli, "audit", str(tmp_path / "k.npy"), "--no-bootstrap", "--json", str(tmp_path / "a.json"),
                        "--csv", str(tmp_path / "a_csv")], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    a = json.load(open(tmp_path / "a.json"))
    th = list(csv.DictReader(open(tmp_path / "a_csv" / "theorems.csv")))
    assert [(t["id"], t["verdict"]) for t in th] == [(t["id"], t["verdict"]) for t in a["theorems"]]
    eig = list(csv.DictReader(open(tmp_path / "a_csv" / "sources_V.csv")))
    assert [float(e["eigenvalues"]) for e in eig] == a["sources"]["V"]["eigenvalues"]
    # A non-empty directory that is not a previous export is refused before any work (exit 2), and a
    # previous export is replaced whole.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = run_cli(cli, "audit", tmp_path / "k.npy", "--csv", tmp_path / "mine", expect=2)
    assert "not a previous CSV export" in r.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    r = subprocess.run([cli, "audit", str(tmp_path / "k.npy"), "--no-bootstrap", "--bits", "2", "--csv", str(tmp_path / "a_csv")],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    summary = dict(csv.reader(open(tmp_path / "a_csv" / "summary.csv")))
    assert summary["bits"] == "2"


def test_audit_jobs_do_not_change_a_byte(cli, stream, tmp_path):
    """audit --jobs 2 runs the two sources (and alpha* beside the Loewner test) on two threads: the
    JSON and the text are the same bytes as with one thread."""
    np.save(tmp_path / "k.npy", stream)
    outs = []
    for jobs in (1, 2):
        r = run_cli(cli, "audit", tmp_path / "k.npy", "--jobs", jobs, "--json", tmp_path / ("a%d.json" % jobs))
        outs.append(r.stdout.encode() + (tmp_path / ("a%d.json" % jobs)).read_bytes())
    assert outs[0] == outs[1]
    assert deltapq.audit(stream, jobs=1) == deltapq.audit(stream, jobs=2)
    with pytest.raises(ValueError, match="jobs"):
        deltapq.audit(stream, jobs=0)


def test_paper_check_jobs_match_the_cli():
    """paper_check(jobs=2) runs the cells on two threads: the same dict as one thread."""
    one = deltapq.paper_check(quick=True, jobs=1)
    assert one == deltapq.paper_check(quick=True, jobs=2)
    assert len(one["findings"]) == 3
    with pytest.raises(ValueError, match="jobs"):
        deltapq.paper_check(quick=True, jobs=0)


def story():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "story.txt")


def test_eval_nll_matches_the_cli_json(cli, models, tmp_path):
    """One run (a D5 scheme against another) and a sweep (a list of bit widths): the CLI's JSON."""
    m, t = os.path.join(models, "stories260K.bin"), os.path.join(models, "tok512.bin")
    run_cli(cli, "eval-nll", "--model", m, "--tokenizer", t, "--text", story(), "--kv-scheme", "kqv", "--bits", "3",
            "--versus", "kv", "--max-tokens", "64", "--json", tmp_path / "one.json")
    one = deltapq.eval_nll(m, t, story(), kv_scheme="kqv", bits=3, versus="kv", max_tokens=64)
    assert one == json.load(open(tmp_path / "one.json"))
    assert one["scheme"] == "kqv" and one["kappa"] is None and one["versus"]["scheme"] == "kv"
    run_cli(cli, "eval-nll", "--model", m, "--tokenizer", t, "--text", story(), "--kv-scheme", "direct", "--bits", "2,4",
            "--max-tokens", "48", "--no-bootstrap", "--json", tmp_path / "sweep.json")
    sweep = deltapq.eval_nll(m, t, story(), kv_scheme="direct", bits=[2, 4], max_tokens=48, bootstrap=False)
    assert sweep == json.load(open(tmp_path / "sweep.json"))
    assert [b["bits"] for b in sweep["by_bits"]] == [2, 4]


def test_eval_nll_and_the_downstream_check_refuse_bad_input(models):
    m, t = os.path.join(models, "stories260K.bin"), os.path.join(models, "tok512.bin")
    with pytest.raises(ValueError, match="--bits 1 with --kv-scheme qkqv is outside 2..8"):
        deltapq.eval_nll(m, t, story(), kv_scheme="qkqv", bits=1)
    with pytest.raises(ValueError, match="'zip' is not one of"):
        deltapq.eval_nll(m, t, story(), kv_scheme="zip")
    with pytest.raises(ValueError, match="part = 'q'"):
        deltapq.eval_nll(m, t, story(), part="q")
    with pytest.raises(ValueError, match="no_such.txt"):
        deltapq.eval_nll(m, t, "/nonexistent/no_such.txt")
    with pytest.raises(ValueError, match="needs all of model, tokenizer and text"):
        deltapq.paper_check(quick=True, model=m)


def test_paper_check_downstream_matches_the_cli(cli, models, tmp_path):
    m, t = os.path.join(models, "stories260K.bin"), os.path.join(models, "tok512.bin")
    r = subprocess.run([cli, "paper-check", "--quick", "--model", m, "--tokenizer", t, "--text", story(), "--max-tokens", "64",
                        "--json", str(tmp_path / "pc.json")], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    from_py = deltapq.paper_check(quick=True, model=m, tokenizer=t, text=story(), max_tokens=64)
    assert from_py == json.load(open(tmp_path / "pc.json"))
    assert len(from_py["downstream"]["rows"]) == 9 and len(from_py["downstream"]["findings"]) == 2


def test_jobs_do_not_change_a_byte(cli, cache, tmp_path):
    """audit-stream --jobs 1 and --jobs 2 write the same JSON and CSV, byte for byte (streams are
    independent; the reports are folded in stream order)."""
    np.save(tmp_path / "cache.npy", cache)
    outs = []
    for jobs in (1, 2):
        run_cli(cli, "audit-stream", tmp_path / "cache.npy", "--layout", "L,S,B,H,T,D", "--pq", "2x3", "--jobs", jobs,
                "--json", tmp_path / ("j%d.json" % jobs), "--csv", tmp_path / ("c%d" % jobs))
        outs.append((tmp_path / ("j%d.json" % jobs)).read_bytes() + (tmp_path / ("c%d" % jobs) / "heads.csv").read_bytes())
    assert outs[0] == outs[1]
    assert deltapq.audit_stream(cache, layout="L,S,B,H,T,D", jobs=1) == deltapq.audit_stream(cache, layout="L,S,B,H,T,D", jobs=2)
    r = run_cli(cli, "audit-stream", tmp_path / "cache.npy", "--layout", "L,S,B,H,T,D", "--jobs", 0, expect=2)
    assert "--jobs" in r.stderr


# ---- adaptive precision (issue 16) -------------------------------------------------------------------------

def test_precision_forces_the_full_path_for_that_call_only(stream):
    """precision= runs the full MPFR path with the same verdicts, and the next call is adaptive again."""
    adaptive = deltapq.audit(stream, bootstrap=False)
    full = deltapq.audit(stream, bootstrap=False, precision=128)
    again = deltapq.audit(stream, bootstrap=False)
    assert adaptive["alpha_star_path"] == "double" and adaptive["sources"]["V"]["coordinates_path"] == "double"
    assert full["alpha_star_path"] == "mpfr" and full["sources"]["V"]["coordinates_path"] == "mpfr"
    assert 128 <= full["precision_bits"] < adaptive["precision_bits"] == again["precision_bits"]  # MPFR rounds up to whole digits
    assert [t["verdict"] for t in adaptive["theorems"]] == [t["verdict"] for t in full["theorems"]]
    assert abs(adaptive["alpha_star"] - full["alpha_star"]) <= adaptive["alpha_star_error"] + full["alpha_star_error"] + 1e-15
    heads = deltapq.audit_stream(stream, kind="v", bootstrap=False)["heads"]
    heads_full = deltapq.audit_stream(stream, kind="v", bootstrap=False, precision=256)["heads"]
    assert heads[0]["alpha_adaptive"] == 2 and heads_full[0]["alpha_adaptive"] == 0
    assert heads[0]["dominated"] == heads_full[0]["dominated"]
