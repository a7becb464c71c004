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

from .names import BUILTIN

#: Spec file names that hold energy/area tables rather than parts of the spec.
TABLE_FILES = ("ERT.yaml", "ART.yaml")
#: Packages whose code decides the builtin backend's numbers, per job kind: an evaluation runs the engine
#: (energy tables are parsed when a spec carries them); a search also runs the mapper, which prices every
#: candidate mapping with energies estimated from the component tables.
FINGERPRINTED = {"model": ("engine", "energy"), "mapper": ("engine", "energy", "mapper")}


def fingerprinted_files(kind: str = "model") -> list[tuple[str, Path]]:
    """(name, path) of every file besides the spec that decides a builtin result of ``kind`` ("model" or
    "mapper"): the source of the packages that compute it and, for a search, the component tables
    (``arch/components``). The spec texts themselves are in the job key."""
    from fusemax.energy.components import components_dir
    root = Path(__file__).resolve().parent.parent
    sources = [p for d in FINGERPRINTED[kind] for p in (root / d).glob("*.py")] + [root / "stats.py"]
    tables = sorted(components_dir().glob("*.yaml")) if kind == "mapper" else []
    return ([(str(p.relative_to(root)), p) for p in sorted(sources)]
            + [(f"arch/components/{p.name}", p) for p in tables])


def files_fingerprint(files: list[tuple[str, Path]]) -> str:
    """Hash of the (name, path) files' names and contents, for cache keys."""
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@lru_cache(maxsize=2)
def engine_fingerprint(kind: str = "model") -> str:
    """Hash of :func:`fingerprinted_files`: a development edit or a changed component table invalidates
    the cached results it decides, and only those, even when the package version is unchanged."""
    return files_fingerprint(fingerprinted_files(kind))


class BuiltinBackend:
    name = BUILTIN
    searches_first = True

    def version(self, kind: str = "model") -> str:
        return f"fusemax {__version__} {kind} {engine_fingerprint(kind)}"

    def tools(self) -> dict:
        return {self.name: {"version": self.version()}}

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
