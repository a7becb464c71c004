"""The study's figures, tables and report section (issue 14), read back against the CSVs.

Truth: the study folder's ``layer.csv`` and ``einsums.csv`` and the runs' own ``attn-<config>.csv``, read
here with the csv module and summed by hand; the roofs from ``run.json``'s hardware (peak = PE^2 x 2 FLOP
x clock, ridge = peak / DRAM bandwidth, methodology.md).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from fusemax.cli import main
from fusemax.cli.run import execute
from fusemax.reports import study
from fusemax.reports.style import SavedFigure

CONFIGS = ["binding", "flat", "unfused"]
PLATFORM = {"binding": "proposal", "flat": "flat", "unfused": "flat"}
REST_GROUPS = {"projection", "mlp", "elementwise"}
TABLES = ("layer", "einsums", "roofline")
#: (models, lengths, phase, batch) of the runs concatenated into the test study
RUNS = ((["BERT", "Pythia-14M"], ["256", "1K"], "prefill", 1),
        (["BERT", "Pythia-14M"], ["256", "1K"], "decode", 1),
        (["Pythia-14M"], ["256"], "prefill", 64))


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, list[Path]]:
    """``OUT/study/results`` concatenated from small ``fusemax run --layer`` runs, as the study writes it,
    with the first run's results as ``OUT/results`` (the paper's place); returns (OUT, the run folders)."""
    base = tmp_path_factory.mktemp("study")
    folders = []
    for i, (models, lengths, phase, batch) in enumerate(RUNS):
        out = base / f"run{i}"
        _, folder = execute(str(out), CONFIGS, models, lengths, phase=phase, batch=batch, jobs=1, quiet=True,
                            layer=True, cache=str(base / "cache"))
        folders.append(folder)
    target = base / "out" / "study" / "results"
    target.mkdir(parents=True)
    for name in TABLES:
        parts = [rows(f / f"{name}.csv") for f in folders]
        with open(target / f"{name}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(parts[0][0]))
            writer.writeheader()
            for part in parts:
                writer.writerows(part)
    # a folder put together by hand: its run.json must not claim the first run's tables (its manifest)
    info = json.loads((folders[0] / "run.json").read_text())
    del info["manifest"]
    (target / "run.json").write_text(json.dumps(info))
    (base / "out" / "results").symlink_to(folders[0], target_is_directory=True)
    return base / "out", folders


@pytest.fixture(scope="module")
def drawn(runs):
    """Every study figure as built (not saved: the artists are what is checked), and the notes."""
    out, _ = runs
    figures = {}

    def capture(stem, title, caption, builder, *args):
        figures[stem] = builder(*args)
        return SavedFigure(stem, title, caption, Path(f"{stem}.png"), Path(f"{stem}.pdf"))

    _, notes = study.figures(study.load(out / study.STUDY_DIR), capture)
    return figures, notes


def truth(folder: Path):
    """Expected (intensity, achieved) of every component, keyed like the figures' gids minus the kind."""
    layer = {(r["config"], r["model"], r["seq_len"], r["phase"], r["batch"]): r for r in rows(folder / "layer.csv")}
    sums = defaultdict(lambda: [0.0, 0.0, 0.0])   # flops, traffic, sum of own bounds

    def add(key, r):
        s = sums[key]
        s[0] += float(r["flops"])
        s[1] += float(r["traffic"])
        s[2] += float(r["latency"])

    for r in rows(folder / "einsums.csv"):
        point = (r["model"], r["seq_len"], r["phase"], r["batch"])
        if r["group"] in REST_GROUPS:
            if r["group"] == "mlp":
                for config in CONFIGS:
                    if PLATFORM[config] == r["config"]:
                        add(("MLP", config, *point), r)
            continue
        add(("attention", r["config"], *point), r)
        product = r["einsum"] in ({"QK", "SLNV"} if r["group"] == "attention" else {"QK", "AV"})
        if not product:
            add(("softmax", r["config"], *point), r)
    want = {}
    for key, (flops, traffic, bound) in sums.items():
        lay = layer[key[1:]]
        latency = float(lay["latency"]) * float(lay["attention_latency_share"]) if key[0] == "attention" else bound
        want[" ".join(key)] = (flops / traffic if traffic else None, flops / latency)
    for key, r in layer.items():
        want[" ".join(("layer", *key))] = (float(r["intensity"]), float(r["flops"]) / float(r["latency"]))
    assert all(float(r["flops"]) / float(r["traffic"]) == pytest.approx(float(r["intensity"]))
               for r in layer.values())
    return want


def hardware_roofs(folder: Path) -> tuple[float, float]:
    hw = json.loads((folder / "run.json").read_text())["hardware"]
    peak = hw["pe_dim"] ** 2 * 2 * hw["clock_hz"]
    return peak, peak / hw["dram_bandwidth"]


def points(fig) -> dict[str, tuple[float, float]]:
    return {c.get_gid(): tuple(c.get_offsets()[0]) for ax in fig.axes for c in ax.collections if c.get_gid()}


def test_roofline_points_are_the_csv_values(runs, drawn):
    out, _ = runs
    folder = out / study.STUDY_DIR
    want = truth(folder)
    figures, _ = drawn
    roofs = [s for s in figures if "intensity" not in s and not s.startswith(("study-ratios", "study-time"))]
    assert set(roofs) == {f"{s}-{p}" for s in ("study-bert-components", "study-bert-lengths", "study-short-long")
                          for p in ("prefill", "decode")}
    for stem in roofs:
        drawn_points = points(figures[stem])
        assert drawn_points, stem
        for gid, (x, y) in drawn_points.items():
            assert gid.endswith(" 1"), gid        # batch 1 only
            wx, wy = want[gid]
            assert (x, y) == (pytest.approx(wx), pytest.approx(wy)), gid
    bert = points(figures["study-bert-components-prefill"])
    placeable = {g for g, (x, _) in want.items() if x is not None and " BERT 1K prefill 1" in g}
    assert set(bert) == placeable    # every component with DRAM traffic, nothing else
    assert "layer binding BERT 1K prefill 1" in bert and "MLP flat BERT 1K prefill 1" in bert
    # FLAT's softmax is fused (no DRAM traffic): not placed, and the title says so
    assert "softmax flat BERT 1K prefill 1" not in bert
    assert "FLAT softmax" in figures["study-bert-components-prefill"].axes[0].get_title(loc="left")
    lengths = points(figures["study-short-long-decode"])
    assert set(lengths) == {f"layer binding {m} 256 decode 1" for m in ("BERT", "Pythia-14M")}


def test_roofs_and_ridges_come_from_the_hardware(runs, drawn):
    out, _ = runs
    peak, ridge = hardware_roofs(out / study.STUDY_DIR)
    figures, _ = drawn
    ax = figures["study-bert-lengths-prefill"].axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    assert max(lines["roof 2d"].get_ydata()) == pytest.approx(peak)
    assert list(lines["ridge 2d"].get_xdata()) == [pytest.approx(ridge)] * 2
    assert any(f"{ridge:.3g}" in t.get_text() and "ridge" in t.get_text() for t in ax.texts)


def test_intensity_bars_are_layer_csv_intensity_with_the_ridge(runs, drawn):
    out, _ = runs
    folder = out / study.STUDY_DIR
    _, ridge = hardware_roofs(folder)
    figures, _ = drawn
    for phase in ("prefill", "decode"):
        ax = figures[f"study-bert-intensity-{phase}"].axes[0]
        heights = {p.get_gid(): p.get_height() for p in ax.patches if p.get_gid()}
        want = {f"intensity {r['config']} BERT {r['seq_len']} {phase} 1": float(r["intensity"])
                for r in rows(folder / "layer.csv") if r["model"] == "BERT" and r["phase"] == phase}
        assert heights.keys() == want.keys() and len(want) == 3 * 2
        assert all(heights[g] == pytest.approx(v) for g, v in want.items())
        line = next(ln for ln in ax.get_lines() if ln.get_gid() == "ridge 2d")
        assert list(line.get_ydata()) == [pytest.approx(ridge)] * 2
        assert f"{ridge:.4g}" in line.get_label()


def test_absent_data_is_skipped_with_a_note(drawn):
    figures, notes = drawn
    assert not any(s.startswith("study-opt-pythia-components") for s in figures)
    text = "\n".join(notes)
    for phase in ("prefill", "decode"):
        assert f"study-opt-pythia-components-{phase} skipped" in text
    assert "study-bert-lengths-prefill: absent from the study: BERT 4K." in text


def test_attention_latency_is_the_configurations_own(runs, drawn):
    """The attention point's latency is attn-<config>.csv's combined latency (the runs' own files)."""
    _, folders = runs
    figures, _ = drawn
    bert = points(figures["study-bert-components-prefill"])
    flops = defaultdict(float)
    for r in rows(folders[0] / "einsums.csv"):
        if r["model"] == "BERT" and r["seq_len"] == "1K" and r["group"] not in REST_GROUPS:
            flops[r["config"]] += float(r["flops"])
    for config in CONFIGS:
        latency = next(float(r["latency"]) for r in rows(folders[0] / f"attn-{config}.csv")
                       if (r["model"], r["seq_len"]) == ("BERT", "1K"))
        assert bert[f"attention {config} BERT 1K prefill 1"][1] == pytest.approx(flops[config] / latency)


def test_tables_are_per_phase_and_batch(runs):
    out, _ = runs
    folder = out / study.STUDY_DIR
    layer = {(r["config"], r["model"], r["seq_len"], r["phase"], r["batch"]): r for r in rows(folder / "layer.csv")}
    named = dict(study.tables(study.load(folder)))
    assert set(named) == {n for n in named if "prefill" in n or "decode" in n} and len(named) == 4
    prefill = next(t for n, t in named.items() if n.startswith("Study, prefill"))
    for (batch, model, length), row in prefill.iterrows():
        ours, flat = layer[("binding", model, length, "prefill", str(batch))], \
            layer[("flat", model, length, "prefill", str(batch))]
        assert row["speedup over FLAT"] == pytest.approx(float(flat["latency"]) / float(ours["latency"]))
        assert row["energy vs FLAT"] == pytest.approx(float(ours["energy"]) / float(flat["energy"]))
    assert (64, "Pythia-14M", "256") in prefill.index and len(prefill) == 5
    decode = next(t for n, t in named.items() if n.startswith("Study headline, decode"))
    unfused = decode.loc[(1, "Unfused")]
    pairs = [(layer[("unfused", m, n, "decode", "1")], layer[("binding", m, n, "decode", "1")])
             for m in ("BERT", "Pythia-14M") for n in ("256", "1K")]
    assert unfused["points"] == 4
    assert unfused["mean speedup"] == pytest.approx(sum(float(b["latency"]) / float(r["latency"])
                                                        for b, r in pairs) / 4)


def test_report_has_a_study_section_and_the_roofline_options_pick_the_figure(runs, monkeypatch):
    out, _ = runs
    monkeypatch.setattr(study, "FIGURES", study.FIGURES[:1])   # one study figure per phase: saving is the cost
    report = out / "report"
    assert main(["report", str(out), "-o", str(report), "--roofline-model", "Pythia-14M", "--roofline-length",
                 "256", "--roofline-phase", "prefill"]) == 0
    text = (report / "index.html").read_text()
    assert "<h2 id='study'>Study</h2>" in text
    assert "Study headline, prefill" in text and "Study, decode" in text
    for phase in ("prefill", "decode"):
        stem = f"study-bert-components-{phase}"
        assert f'data-figure="{stem}"' in text
        assert (report / f"{stem}.png").is_file() and (report / f"{stem}.pdf").is_file()
    assert "Paper figures" in text      # the paper's part is still there
    assert "Roofline: Pythia-14M at 256 (prefill)" in text and 'data-figure="roofline-BERT"' not in text


@pytest.mark.parametrize("flag, value, listed", [
    ("--roofline-model", "GPT-5", "available: BERT, Pythia-14M"),
    ("--roofline-length", "4K", "available: 256, 1K"),
    ("--roofline-length", "many", "available: 256, 1K"),
    ("--roofline-phase", "decode", "available: prefill"),
])
def test_bad_roofline_options_are_one_clear_error(runs, tmp_path, capsys, flag, value, listed):
    out, _ = runs
    capsys.readouterr()
    assert main(["report", str(out), "-o", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and repr(value) in err[0] and listed in err[0], err
    assert not (tmp_path / "r" / "fig6a.png").exists()     # refused before drawing anything


def test_a_study_folder_alone_makes_a_study_page(runs, monkeypatch, capsys):
    out, _ = runs
    monkeypatch.setattr(study, "FIGURES", study.FIGURES[4:])    # the intensity bars only
    assert main(["report", str(out / "study"), "-o", str(out / "report-study")]) == 0
    text = (out / "report-study" / "index.html").read_text()
    assert 'data-figure="study-bert-intensity-decode"' in text and "Paper figures" not in text
    assert main(["report", str(out / "study"), "--roofline-model", "BERT"]) == 2
    assert "--roofline-model: no paper results" in capsys.readouterr().err


# --- issue 27: the figures that answer the study's questions, read back against layer.csv / einsums.csv ---

def _lines(figure) -> dict[str, tuple[list, list]]:
    return {line.get_gid(): (list(line.get_xdata()), list(line.get_ydata()))
            for ax in figure.axes for line in ax.get_lines() if line.get_gid()}


def _attention_energy(folder: Path) -> dict[tuple, float]:
    """Σ energy of each configuration's attention Einsums (its own rows, not its platform's rest of layer)."""
    out: dict[tuple, float] = defaultdict(float)
    for r in rows(folder / "einsums.csv"):
        if r["group"] not in REST_GROUPS:
            out[(r["config"], r["model"], r["seq_len"], r["phase"], r["batch"])] += float(r["energy"])
    return out


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_speedup_and_energy_ratio_vs_length_read_back_equal_to_the_csvs(runs, drawn, phase):
    out, _ = runs
    folder = out / study.STUDY_DIR
    layer = {(r["config"], r["model"], r["seq_len"], r["phase"], r["batch"]): r for r in rows(folder / "layer.csv")}
    energy = _attention_energy(folder)
    figures, _ = drawn
    figure = figures[f"study-ratios-{phase}"]
    assert f"{phase}, batch 1" in figure.get_suptitle()
    lines = _lines(figure)
    assert len(lines) == 2 * 2 * 2 * 2     # metrics x scopes x baselines x models (BERT, Pythia-14M)
    for model in ("BERT", "Pythia-14M"):
        for base in ("flat", "unfused"):
            fm = [layer[("binding", model, n, phase, "1")] for n in ("256", "1K")]
            bl = [layer[(base, model, n, phase, "1")] for n in ("256", "1K")]
            att = [float(r["latency"]) * float(r["attention_latency_share"]) for r in fm]
            att_base = [float(r["latency"]) * float(r["attention_latency_share"]) for r in bl]
            want = {
                "speedup|whole layer": [float(b["latency"]) / float(f["latency"]) for f, b in zip(fm, bl)],
                "energy ratio|whole layer": [float(f["energy"]) / float(b["energy"]) for f, b in zip(fm, bl)],
                "speedup|attention": [b / f for f, b in zip(att, att_base)],
                "energy ratio|attention": [energy[("binding", model, n, phase, "1")] /
                                           energy[(base, model, n, phase, "1")] for n in ("256", "1K")],
            }
            for prefix, values in want.items():
                xs, ys = lines[f"{prefix}|{base}|{model}"]
                assert xs == [256, 1024]
                assert ys == pytest.approx(values, rel=1e-12)


@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_where_time_goes_reads_back_equal_to_the_csvs(runs, drawn, phase):
    out, _ = runs
    folder = out / study.STUDY_DIR
    layer = {(r["model"], r["seq_len"]): r for r in rows(folder / "layer.csv")
             if (r["config"], r["phase"], r["batch"]) == ("binding", phase, "1")}
    parts: dict[tuple, float] = defaultdict(float)
    for r in rows(folder / "einsums.csv"):
        if r["config"] == "proposal" and (r["phase"], r["batch"]) == (phase, "1"):
            parts[({"projection": "projections", "mlp": "MLP", "elementwise": "element-wise"}[r["group"]],
                   r["model"], r["seq_len"])] += float(r["latency"])
    for (model, n), r in layer.items():
        parts[("attention", model, n)] = float(r["latency"]) * float(r["attention_latency_share"])
    figures, _ = drawn
    figure = figures[f"study-time-{phase}"]
    assert f"{phase}, batch 1" in figure.get_suptitle()
    lines = _lines(figure)
    assert {g.split("|")[1] for g in lines} == {"attention", "projections", "MLP", "element-wise"}
    for model in ("BERT", "Pythia-14M"):
        totals = [sum(v for (p, m, n), v in parts.items() if (m, n) == (model, length)) for length in ("256", "1K")]
        for part in ("attention", "projections", "MLP", "element-wise"):
            xs, ys = lines[f"share|{part}|{model}"]
            assert xs == [256, 1024]
            assert ys == pytest.approx([parts[(part, model, n)] / t for n, t in zip(("256", "1K"), totals)])


def test_the_speedup_pivots_are_model_by_length_per_phase_and_batch(runs):
    out, _ = runs
    folder = out / study.STUDY_DIR
    layer = {(r["config"], r["model"], r["seq_len"], r["phase"], r["batch"]): r for r in rows(folder / "layer.csv")}
    pivots = dict(study.speedup_pivots(study.load(folder)))
    name = "FuseMax (binding) whole-layer speedup over FLAT, decode, batch 1 (model × length)"
    table = pivots[name]
    assert list(table.columns) == ["256", "1K"] and list(table.index) == ["BERT", "Pythia-14M"]
    for model in table.index:
        for n in table.columns:
            ratio = float(layer[("flat", model, n, "decode", "1")]["latency"]) / \
                float(layer[("binding", model, n, "decode", "1")]["latency"])
            assert table.loc[model, n] == f"{ratio:.2f}x"
    # batch 64 has only Pythia-14M at 256, prefill
    assert list(pivots["FuseMax (binding) whole-layer speedup over Unfused, prefill, batch 64 (model × length)"]
                .index) == ["Pythia-14M"]


def test_rooflines_say_in_plain_words_what_is_not_shown(drawn):
    figures, _ = drawn
    title = figures["study-bert-components-prefill"].axes[0].get_title(loc="left")
    assert "not shown, kept on chip (no DRAM traffic" in title and "FLAT softmax" in title


def test_the_interactive_twin_has_the_figures_values_and_hovers_name_the_point(drawn):
    from fusemax.reports import interactive
    figures, _ = drawn
    figure = figures["study-ratios-prefill"]
    figure.savefig(io.BytesIO(), format="png")     # the saved layout places the subplots
    spec = interactive.spec(figure, "FuseMax over FLAT and unfused vs context length, prefill, batch 1")
    lines = _lines(figure)
    traces = {next(g for g in lines if g in t["text"][0]): t for t in spec["data"]}
    assert set(traces) == set(lines)
    for gid, (xs, ys) in lines.items():
        trace = traces[gid]
        assert trace["x"] == xs and trace["y"] == ys
        model = gid.split("|")[3]
        for text, x in zip(trace["text"], xs):
            assert model in text and f"Context length (tokens): {x}" in text and "prefill, batch 1" in text
    # one legend entry per series, toggling it in all four subplots
    bert = [t for t in spec["data"] if t["name"] == "BERT over FLAT"]
    assert len(bert) == 4 and len({t["legendgroup"] for t in bert}) == 1
    assert sum(t["showlegend"] for t in bert) == 1
    assert {t["xaxis"] for t in bert} == {"x", "x2", "x3", "x4"}
    assert spec["layout"]["xaxis"]["type"] == "log"


@pytest.fixture(scope="module")
def study_report(runs):
    """The study's report (its first roofline figure per phase and the issue-27 figures), as the CLI writes it."""
    out, _ = runs
    report = out / "report-interactive"
    original = study.FIGURES
    study.FIGURES = study.FIGURES[:1]     # saving is the cost; the figures that answer the questions stay
    try:
        assert main(["report", str(out / study.STUDY_DIR), "-o", str(report)]) == 0
    finally:
        study.FIGURES = original
    return report / "index.html"


def test_the_page_embeds_plotly_once_and_every_figure_is_interactive(study_report):
    from fusemax.reports.html import plotly_js
    text = study_report.read_text()
    assert text.count(plotly_js()[:300]) == 1
    assert not re.search(r"<(script|link)[^>]+(src|href)=", text)     # nothing fetched: no CDN, no file
    stems = {p.stem for p in study_report.parent.glob("*.png")}
    assert {"study-ratios-prefill", "study-time-decode"} <= stems
    assert set(re.findall(r'data-interactive="([^"]+)"', text)) == stems
    assert "<details><summary>Study, prefill: FuseMax&#x27;s whole-layer speedup and energy ratio per point" in text
    assert "FuseMax (binding) whole-layer speedup over FLAT, prefill, batch 1 (model × length)" in text


HOVER = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var gd = document.getElementById('plotly-study-ratios-prefill');
  var i = gd.data.findIndex(function (t) { return t.name === 'BERT over FLAT'; });
  Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: 1}]);
  var label = gd.querySelector('.hoverlayer');
  document.body.setAttribute('data-hover', label ? label.textContent : 'no hover label');
}, 200); });
</script>"""


def test_chromium_loads_the_page_offline_and_a_hover_names_the_model_and_length(study_report, tmp_path):
    import shutil
    import subprocess
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install -y chromium)")
    page = tmp_path / "index.html"
    page.write_text(study_report.read_text().replace("</body>", HOVER + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=15000", "--window-size=1400,2400"]
    done = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=180)
    assert "Uncaught" not in done.stderr and "ERROR:CONSOLE" not in done.stderr, done.stderr[-2000:]
    hover = re.search(r'data-hover="([^"]*)"', done.stdout)
    assert hover is not None, done.stdout[-2000:]
    # BERT over FLAT's second point: 1K = 1024 tokens, prefill, batch 1
    assert "BERT over FLAT" in hover.group(1) and "1024" in hover.group(1), hover.group(1)
