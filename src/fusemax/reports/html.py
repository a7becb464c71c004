"""``report/index.html``: one self-contained page with the figures, the key tables and the parameters and
versions from ``run.json``. Each figure is interactive (:mod:`.interactive`, Plotly's JavaScript embedded
once, no network) with its PNG inlined as base64 behind a disclosure and its PDF linked next to it."""
from __future__ import annotations

import base64
import html
import json
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .current import SavedFigure

CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1700px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
details { margin: 0.8em 0; } summary { cursor: pointer; font-weight: bold; }
.note { background: #fff8e1; border-left: 4px solid #E69F00; padding: 0.4em 0.8em; margin: 0.4em 0; }
"""


def plotly_js() -> str:
    """Plotly's JavaScript bundle as the ``plotly`` package ships it (read, not imported: importing plotly
    costs more than the page)."""
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def _script(text: str) -> str:
    # inside <script>, only "</" can end the element early
    return text.replace("</", "<\\/")


def _img(fig: SavedFigure) -> str:
    data = base64.b64encode(fig.png.read_bytes()).decode("ascii")
    img = (f'<img src="data:image/png;base64,{data}" alt="{html.escape(fig.title)}" '
           f'data-figure="{html.escape(fig.stem)}">')
    caption = (f'<figcaption><b>{html.escape(fig.title)}.</b> {html.escape(fig.caption)} '
               f'<a href="{html.escape(fig.pdf.name)}">PDF</a> · <a href="{html.escape(fig.png.name)}">PNG</a>'
               f'</figcaption>')
    if not fig.plotly.is_file():
        return f'<figure id="{html.escape(fig.stem)}">{img}{caption}</figure>'
    # the interactive figure first (hover names each point, a legend click toggles a series), the PNG folded
    div = f"plotly-{fig.stem}"
    return (f'<figure id="{html.escape(fig.stem)}"><div class="plotly" id="{html.escape(div)}" '
            f'data-interactive="{html.escape(fig.stem)}"></div><script>(function(){{var s={_script(fig.plotly.read_text())};'
            f'Plotly.newPlot({json.dumps(div)},s.data,s.layout,{{responsive:true,displaylogo:false}});}})();</script>'
            f'{caption}<details><summary>Static figure (PNG, as in the PDF)</summary>{img}</details></figure>')


def _table(frame: pd.DataFrame, float_format: str = "{:.4g}") -> str:
    return frame.to_html(float_format=float_format.format, border=0, na_rep="–", escape=True)


def _params(run: dict[str, Any]) -> pd.DataFrame:
    """run.json flattened to key/value rows (nested dicts as ``parent.key``)."""
    rows = []
    for key, value in sorted(run.items()):
        if isinstance(value, dict):
            rows += [(f"{key}.{k}", v) for k, v in sorted(value.items())]
        else:
            rows.append((key, value))
    return pd.DataFrame([(k, v if isinstance(v, str) else json.dumps(v)) for k, v in rows],
                        columns=["parameter", "value"]).set_index("parameter")


Chapters = Sequence[tuple[str, list[SavedFigure], list[tuple[str, pd.DataFrame]], list[tuple[str, pd.DataFrame]]]]


def shown(sections: list[tuple[str, list[SavedFigure]]], chapters: Chapters) -> list[SavedFigure]:
    """Every figure of ``sections`` and ``chapters``, in page order."""
    return [f for _, figs in sections for f in figs] + [f for _, figs, *_ in chapters for f in figs]


def body(title: str, source: Path, sections: list[tuple[str, list[SavedFigure]]], tables: list[tuple[str, pd.DataFrame]],
         notes: list[str], chapters: Chapters = ()) -> str:
    """The page up to its Parameters table (:func:`tail` ends it). ``chapters`` (the Study) come after
    ``sections``, each a heading with its own tables (sub-headings), then its long tables folded (a
    ``<details>`` disclosure each), then its figures, so a chapter's numbers sit next to its figures."""
    # Plotly's JavaScript once, in the page: the report works offline and from a copied file
    js = f"<script>{plotly_js()}</script>" if any(f.plotly.is_file() for f in shown(sections, chapters)) else ""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style>{js}</head><body><h1>{html.escape(title)}</h1>",
             f"<p>Results folder: <code>{html.escape(str(source))}</code>. Every figure is drawn from the CSVs "
             "there; nothing was re-evaluated.</p>"]
    if notes:
        parts.append("<h2>Notes</h2>" + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes))
    for name, frame in tables:
        parts.append(f"<h2>{html.escape(name)}</h2>{_table(frame)}")
    for name, figs in sections:
        if figs:
            parts.append(f"<h2>{html.escape(name)}</h2>" + "".join(_img(f) for f in figs))
    for name, figs, frames, folded in chapters:
        anchor = html.escape(name.split(":")[0].lower().replace(" ", "-"))
        parts.append(f"<h2 id='{anchor}'>{html.escape(name)}</h2>")
        parts += [f"<h3>{html.escape(t)}</h3>{_table(f)}" for t, f in frames]
        parts += [f"<details><summary>{html.escape(t)} (full table, {len(f)} rows)</summary>{_table(f)}</details>"
                  for t, f in folded]
        parts += [_img(f) for f in figs]
    return "\n".join(parts)


def tail(run: dict[str, Any], stamp: str) -> str:
    """The end of the page after :func:`body`: the parameters and versions of ``run`` (``run.json``), then
    ``stamp`` (:func:`.current.page_stamp`, a comment)."""
    params = f"\n<h2>Parameters and versions (run.json)</h2>{_table(_params(run))}" if run else ""
    return f"{params}\n{stamp}\n</body></html>"
