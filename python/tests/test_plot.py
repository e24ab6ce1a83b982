"""Each plot rendered from a real report (the CLI's JSON on generated data and, when present, the
shared model) is a valid PNG of the expected pixel size and a valid SVG."""
import json
import os
import struct
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from deltapq import plot


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    assert head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


def check_images(paths, names):
    want = (int(plot.FIGSIZE[0] * plot.DPI), int(plot.FIGSIZE[1] * plot.DPI))
    for name in names:
        png = [p for p in paths if p.endswith(name + ".png")]
        svg = [p for p in paths if p.endswith(name + ".svg")]
        assert png and svg, (name, paths)
        assert png_size(png[0]) == want, (name, png_size(png[0]))
        root = ET.parse(svg[0]).getroot()
        assert root.tag.endswith("svg"), svg[0]
        assert os.path.getsize(png[0]) > 5000  # not an empty canvas


def cli_json(cli, tmp_path, name, *args):
    out = tmp_path / (name + ".json")
    r = subprocess.run([cli, *map(str, args), "--json", str(out)], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    return json.load(open(out))


def test_audit_stream_plots(cli, cache, tmp_path):
    np.save(tmp_path / "cache.npy", cache)
    rep = cli_json(cli, tmp_path, "s", "audit-stream", tmp_path / "cache.npy", "--layout", "L,S,B,H,T,D", "--pq", "2x3",
                   "--no-bootstrap")
    check_images(plot.plot_reports([rep], str(tmp_path / "plots")), ["alpha_heatmap", "zones"])


def test_paper_check_and_audit_plots(cli, stream, tmp_path):
    np.save(tmp_path / "k.npy", stream)
    reports = [cli_json(cli, tmp_path, "pc", "paper-check", "--quick"),
               cli_json(cli, tmp_path, "a", "audit", tmp_path / "k.npy", "--no-bootstrap")]
    check_images(plot.plot_reports(reports, str(tmp_path / "plots")), ["paper_grid", "spectra"])


def test_nll_vs_bits_from_the_real_model(cli, tmp_path):
    models = os.environ.get("DPQ_MODELS", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "models"))
    model, tok = os.path.join(models, "stories260K.bin"), os.path.join(models, "tok512.bin")
    if not os.path.exists(model):
        pytest.skip("the shared model is absent (set DPQ_MODELS)")
    text = os.path.join(os.path.dirname(__file__), "..", "..", "data", "story.txt")
    reports = [cli_json(cli, tmp_path, "%s%d" % (s, b), "eval-nll", "--model", model, "--tokenizer", tok, "--text", text,
                        "--kv-scheme", s, "--bits", b) for s in ("direct", "delta-closed") for b in (2, 4)]
    check_images(plot.plot_reports(reports, str(tmp_path / "plots")), ["nll_vs_bits"])


def test_the_command_line(tmp_path, cli, stream):
    np.save(tmp_path / "k.npy", stream)
    cli_json(cli, tmp_path, "a", "audit", tmp_path / "k.npy", "--no-bootstrap")
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run(["/usr/bin/python3", "-m", "deltapq.plot", str(tmp_path / "a.json"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "spectra.png").exists()
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    r = subprocess.run(["/usr/bin/python3", "-m", "deltapq.plot", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o2")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "bad.json" in r.stderr and "not a deltapq report" in r.stderr
    assert not (tmp_path / "o2").exists()
