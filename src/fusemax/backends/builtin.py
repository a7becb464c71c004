"""The ``builtin`` backend: :func:`fusemax.engine.evaluate` (and :mod:`fusemax.mapper` for specs without a
mapping) on the spec texts, in this process."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from fusemax import __version__, yamlio
from fusemax.energy.tables import art_from_dict, ert_from_dict
from fusemax.errors import FusemaxError
from fusemax.stats import Stats

#: Spec file names that hold energy/area tables rather than parts of the spec.
TABLE_FILES = ("ERT.yaml", "ART.yaml")
#: Packages whose code decides the builtin backend's numbers.
FINGERPRINTED = ("engine", "mapper", "energy")


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """Hash of the source that decides a result (engine, mapper, energy tables the mapper prices with):
    a development edit invalidates cached results even when the package version is unchanged."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    sources = [p for d in FINGERPRINTED for p in (root / d).glob("*.py")] + [root / "stats.py"]
    for path in sorted(sources):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class BuiltinBackend:
    name = "builtin"
    searches_first = True

    def version(self, search: bool = False) -> str:
        return f"fusemax {__version__} engine {engine_fingerprint()}"

    def tools(self) -> dict:
        return {"builtin": {"version": self.version()}}

    def evaluate(self, files: Mapping[str, str], source: str) -> Stats:
        from fusemax import engine
        if "mapping.yaml" not in files:
            raise FusemaxError("no mapping.yaml to evaluate (search one with map())", source=source)
        spec = engine.spec_from_texts({n: t for n, t in files.items() if n not in TABLE_FILES}, source=source)
        ert = ert_from_dict(yamlio.loads(files["ERT.yaml"]), "ERT.yaml") if "ERT.yaml" in files else None
        art = art_from_dict(yamlio.loads(files["ART.yaml"]), "ART.yaml") if "ART.yaml" in files else None
        return engine.evaluate(spec, ert, art)

    def map(self, files: Mapping[str, str], source: str) -> tuple[Stats, str | None]:
        from fusemax.mapper import mapping_to_yaml
        from fusemax.mapper.files import search_texts
        result = search_texts(dict(files), source=source)
        return result.stats, mapping_to_yaml(result.mapping, result.spec.architecture)
