"""Figure files and the values drawn in them, read back from the artists.

Truth: the artifact's published CSVs (``shared/reference/fusemax-artifact/results``), read here with the
csv module, and values read off the paper's printed figures (Figs. 7, 8, 10).
"""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.image as mpimg
import pandas as pd
import pytest

from fusemax import results
from fusemax.reports import frames, paper, write_report

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
PUBLISHED = SHARED / "reference" / "fusemax-artifact" / "results"


def published(name: str) -> dict[tuple[str, str], dict[str, float]]:
    if not PUBLISHED.is_dir():
        pytest.skip(f"published artifact results not present at {PUBLISHED}")
    with open(PUBLISHED / name, newline="") as f:
        return {(r["model"], r["seq_len"]): {k: float(v) for k, v in r.items() if k not in ("model", "seq_len")
                                             and k and v}
                for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def table():
    if not PUBLISHED.is_dir():
        pytest.skip(f"published artifact results not present at {PUBLISHED}")
    return frames.attn_table(results.load(PUBLISHED))


def bars(fig, label: str) -> dict[str, float]:
    """gid -> height of the visible bars of the container labelled ``label`` (all axes)."""
    out = {}
    for ax in fig.axes:
        for container in ax.containers:
            if container.get_label() == label:
                out.update({p.get_gid(): p.get_height() for p in container.patches if p.get_visible()})
    return out


def test_fig8_heights_are_unfused_over_config_latency(table):
    unfused, binding, flat = (published(f"attn-{c}.csv") for c in ("unfused", "binding", "flat"))
    fig = paper.speedup(table)
    drawn = bars(fig, "FuseMax +Binding")
    assert len(drawn) == len(binding) == 18   # BERT, TrXL, T5 x 6 lengths are published
    for (model, length), row in binding.items():
        assert drawn[f"{model} {length}"] == pytest.approx(unfused[(model, length)]["latency"] / row["latency"])
    assert bars(fig, "FLAT")["T5 1M"] == pytest.approx(unfused[("T5", "1M")]["latency"] / flat[("T5", "1M")]["latency"])
    # Read off the paper's Fig. 8: BERT 1K binding ~10.8x, T5 1M ~11.6x, unfused bars all 1.
    assert drawn["BERT 1K"] == pytest.approx(10.8, abs=0.3)
    assert drawn["T5 1M"] == pytest.approx(11.6, abs=0.3)
    assert all(h == pytest.approx(1.0) for h in bars(fig, "Unfused").values())


def test_fig6_and_fig9_heights(table):
    arch = published("attn-arch.csv")
    unfused = published("attn-unfused.csv")
    one_d = bars(paper.utilization(table, "1d"), "FuseMax +Architecture")
    two_d = bars(paper.utilization(table, "2d"), "FuseMax +Architecture")
    energy = bars(paper.energy(table), "FuseMax +Architecture")
    for (model, length), row in arch.items():
        key = f"{model} {length}"
        assert one_d[key] == pytest.approx(row["util_1d"])
        assert two_d[key] == pytest.approx(row["util_2d"])
        assert energy[key] == pytest.approx(row["energy"] / unfused[(model, length)]["energy"])


def test_fig7_stacks_are_the_einsum_columns(table):
    binding, flat = published("attn-binding.csv"), published("attn-flat.csv")
    fig = paper.einsum_activity(table)
    qk, top = bars(fig, "QK"), bars(fig, "SLNV/AV")
    tops = {}
    for ax in fig.axes:
        for c in ax.containers:
            for p in c.patches:
                if p.get_visible():
                    tops[p.get_gid()] = max(tops.get(p.get_gid(), 0), p.get_y() + p.get_height())
    row = binding[("BERT", "1K")]
    assert qk["BERT 1K binding"] == pytest.approx(row["QK"])
    assert top["BERT 1K binding"] == pytest.approx(row["SLNV"])
    assert top["BERT 1K flat"] == pytest.approx(flat[("BERT", "1K")]["AV"])
    # The stack adds up to the 2D utilization; the paper's Fig. 7 shows +B at ~0.89 for 1K.
    assert tops["BERT 1K binding"] == pytest.approx(row["util_2d"])
    assert tops["BERT 1K binding"] == pytest.approx(0.89, abs=0.01)


def test_fig10_adds_the_rest_of_the_layer(table):
    rest_flat, rest_fm = published("end2end-flat.csv"), published("end2end-proposal.csv")
    unfused, binding = published("attn-unfused.csv"), published("attn-binding.csv")
    e2e = frames.end_to_end(table, results.load(PUBLISHED).end2end)
    drawn = bars(paper.speedup(e2e), "FuseMax +Binding")
    for key, rest in rest_fm.items():
        want = (unfused[key]["latency"] + rest_flat[key]["latency"]) / (binding[key]["latency"] + rest["latency"])
        assert drawn[" ".join(key)] == pytest.approx(want)
    assert drawn["BERT 1K"] == pytest.approx(3.0, abs=0.2)   # the paper's Fig. 10


def test_figure_files_exist_with_their_pixel_size(report_index):
    folder = report_index.parent
    sizes = {"fig6a": (320, 1600), "fig6b": (320, 1600), "fig8": (320, 1600), "fig9": (320, 1600),
             "fig7": (2 * 290, 1600), "roofline-BERT": (550, 1300), "roofline-XLM": (550, 1300),
             "intensity-vs-length": (2 * 320 + 60, 1300), "model-scaling": (380, 1400)}
    for stem, (height, width) in sizes.items():
        png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
        assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000, stem
        assert pdf.read_bytes().startswith(b"%PDF")
        image = mpimg.imread(png)
        assert image.shape[:2] == (height, width), stem
        assert image[..., :3].std() > 0.05, f"{stem} is blank"


def test_published_folder_skips_what_it_lacks(tmp_path):
    if not PUBLISHED.is_dir():
        pytest.skip(f"published artifact results not present at {PUBLISHED}")
    index = write_report(PUBLISHED, tmp_path)
    text = index.read_text()
    assert (tmp_path / "fig10.png").is_file() and (tmp_path / "fig11.png").is_file()
    assert not (tmp_path / "fig12.png").exists()
    assert "Fig. 12 skipped: no pareto.csv" in text
    assert "no einsums.csv" in text


def test_pareto_lines_are_the_csv_in_square_centimetres(tmp_path):
    # pareto.csv keeps the artifact's um^2; the figure shows cm^2 (1 cm^2 = 1e8 um^2), like the paper.
    rows = [("BERT", 5e6, 30.0), ("BERT", 8e7, 1.9), ("XLM", 5e6, 75.0), ("XLM", 8e7, 4.7)]
    pareto = pd.DataFrame(rows, columns=["model", "area", "latency"])
    fig = paper.pareto(frames.pareto_frame(pareto))
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    assert list(lines["XLM"].get_xdata()) == [0.05, 0.8]
    assert list(lines["XLM"].get_ydata()) == [75.0, 4.7]


def test_pareto_points_are_labelled_with_their_pe_array():
    # which point is which array size (the front's question): each point says PE_dim², at its own place
    rows = [("BERT", 64, 5e6, 30.0), ("BERT", 256, 8e7, 1.9)]
    pareto = pd.DataFrame(rows, columns=["model", "PE_dim", "area", "latency"])
    fig = paper.pareto(frames.pareto_frame(pareto))
    labels = {t.get_gid(): (t.get_text(), t.xy) for t in fig.axes[0].texts}
    assert labels == {"pe BERT 64": ("64²", (0.05, 30.0)), "pe BERT 256": ("256²", (0.8, 1.9))}
