"""Timeloop's ``timeloop-model.stats.txt``: read it into :class:`~fusemax.stats.Stats`, write it back.

Reading happens in two steps. :func:`read_sections` splits the text into its parts (one
:class:`RawLevel` per ``Level N`` block, one :class:`RawNetwork` per ``Network N`` block, the summary
lines), keeping every ``label : value`` pair as printed together with its line number. Then
:func:`parse_stats_text` turns those into numbers, exactly as the conformance corpus derived its
``expected.json`` (``shared/conformance/README.md``):

* a storage data space's ``energy_pj`` is ``Energy (total)`` + ``Temporal Reduction Energy (total)``
  + ``Address Generation Energy (total)``; a level's ``energy_pj`` is the sum over its data spaces plus
  ``Leakage energy (total)`` when the level prints one (Timeloop after v3.0.3; v3.0.3 has no leakage);
* a network's energy is the sum over data spaces of ``Energy (total)``, ``Link transfer energy
  (total)`` and ``Spatial Reduction Energy (total)`` (Timeloop's ``LegacyNetwork::Energy``);
* the top-level ``energy_pj`` is arithmetic + levels + networks, and ``pj_per_compute`` is that sum
  over ``Computes`` (taken before the rounding below, as the corpus did: it can differ from
  ``energy_pj / computes`` in the last bit);
* every sum is rounded to the number of decimals its printed terms have (2 for real Timeloop output), so
  that 20.43 + 20.43 + 34.05 gives 74.91 and not 74.91000000000001;
* ``Utilization`` is read as printed (2 decimals); the newer percent form (``100.00%``) is divided by 100.

Levels are keyed by the name as printed, innermost first, dummy ``inter_*_spatial`` levels included.
Newer Timeloop versions hide levels without accesses or energy (they appear only in the "Operational
Intensity Stats" list); such levels are absent from the parsed :class:`Stats`, as they are from the file.

Anything malformed (a missing section or line, a number that does not parse) raises
:class:`~fusemax.errors.SpecError` naming the file and the line or section.

:func:`format_stats` writes a :class:`Stats` in Timeloop's own layout and labels. It prints only what a
``Stats`` knows (plus values derived from it, such as per-instance energies and bandwidths); specs it
does not know (word bits, area, technology, network specs) are left out rather than invented. Its output
parses back to the same ``Stats``: counts exactly, energies to the printed precision (2 decimals like
Timeloop by default; ``precision=None`` prints full ``repr`` floats and round-trips exactly).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from fusemax.errors import SpecError
from fusemax.stats import ArithmeticStats, DataspaceStats, LevelStats, Stats

#: ``Stats.source`` of parsed files unless ``origin`` (or a fusemax preamble) says otherwise.
DEFAULT_ORIGIN = "timeloop-model"

_LEVELS_HEADER = "Buffer and Arithmetic Levels"
_NETWORKS_HEADER = "Networks"
_OI_HEADER = "Operational Intensity Stats"
_SUMMARY_HEADER = "Summary Stats"
_PREAMBLE_SOURCE = "Source"
_PREAMBLE_SPEC = "Spec"

_LEVEL_RE = re.compile(r"^Level (\d+)$")
_NETWORK_RE = re.compile(r"^Network (\d+)$")
_NAME_RE = re.compile(r"^=== (.+) ===$")
_DASHES_RE = re.compile(r"^-+$")
_KV_RE = re.compile(r"^(\S.*?)\s*:\s*(.*)$")
_SUMMARY_KV_RE = re.compile(r"^(\S.*?)\s*([:=])\s*(.*)$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------------------------
#  Step 1: sections
# ----------------------------------------------------------------------------------------------

@dataclass
class Field:
    """One printed ``label : value`` (value as printed, units included) and its 1-based line."""

    value: str
    line: int


@dataclass
class RawLevel:
    """One ``Level N`` block as printed."""

    index: int
    name: str
    line: int
    specs: dict[str, Field] = field(default_factory=dict)
    loops: list[str] = field(default_factory=list)
    stats: dict[str, Field] = field(default_factory=dict)
    dataspaces: dict[str, dict[str, Field]] = field(default_factory=dict)
    dataspace_lines: dict[str, int] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)

    @property
    def is_arithmetic(self) -> bool:
        return "Computes (total)" in self.stats or "Compute energy" in self.specs


@dataclass
class RawNetwork:
    """One ``Network N`` block as printed."""

    index: int
    name: str
    line: int
    specs: dict[str, Field] = field(default_factory=dict)
    dataspaces: dict[str, dict[str, Field]] = field(default_factory=dict)
    dataspace_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class RawStatsFile:
    """A whole ``stats.txt`` split into its parts; values are kept as printed."""

    source: str
    levels: list[RawLevel] = field(default_factory=list)
    networks: list[RawNetwork] = field(default_factory=list)
    #: Level names listed under "Operational Intensity Stats" (all levels, also hidden ones).
    intensity_levels: list[str] = field(default_factory=list)
    #: ``Utilization``, ``Cycles``, ``Energy``, ``Computes``, ... from "Summary Stats".
    summary: dict[str, Field] = field(default_factory=dict)
    #: The ``fJ/Compute`` breakdown: level/network name (and ``Total``) -> value as printed.
    fj_per_compute: dict[str, Field] = field(default_factory=dict)
    #: ``Source:``/``Spec:`` lines of a fusemax-written preamble (before the first section).
    preamble: dict[str, Field] = field(default_factory=dict)
    #: ``ERROR: ...`` line of a fusemax-written invalid result.
    error: Field | None = None
    n_lines: int = 0


def _error(raw_source: str, reason: str, where: str | None) -> SpecError:
    return SpecError(reason, source=raw_source, key=where)


def read_sections(text: str, source: str = "<stats.txt>") -> RawStatsFile:
    """Split ``stats.txt`` text into levels, networks and summary (no number is interpreted yet)."""
    lines = text.splitlines()
    raw = RawStatsFile(source=source, n_lines=len(lines))
    n = len(lines)
    i = 0

    def err(reason: str, lineno: int) -> SpecError:
        return _error(source, reason, f"line {lineno}")

    def next_nonblank(j: int) -> int:
        while j < n and not lines[j].strip():
            j += 1
        return j

    # Preamble (fusemax-written files only) up to the first section header.
    while i < n and lines[i].strip() != _LEVELS_HEADER:
        stripped = lines[i].strip()
        if stripped.startswith("ERROR:"):
            raw.error = Field(stripped[len("ERROR:"):].strip(), i + 1)
        else:
            m = _KV_RE.match(stripped)
            if m and m.group(1) in (_PREAMBLE_SOURCE, _PREAMBLE_SPEC):
                raw.preamble[m.group(1)] = Field(m.group(2), i + 1)
        i += 1
    if i == n:
        if raw.error is not None:
            return raw
        if not text.strip():
            raise _error(source, "empty file: expected timeloop-model statistics", None)
        raise _error(source, f"not a timeloop-model stats file: no '{_LEVELS_HEADER}' header "
                             f"(read {n} lines)", None)
    i += 1
    if i < n and _DASHES_RE.match(lines[i].strip()):
        i += 1

    section = "levels"
    level: RawLevel | None = None
    network: RawNetwork | None = None
    sub: str | None = None          # SPECS / MAPPING / STATS inside a level or network
    dataspace: dict[str, Field] | None = None
    in_fj = False

    while i < n:
        line = lines[i]
        stripped = line.strip()
        lineno = i + 1
        i += 1
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip(" "))

        # Top-level section headers (at column 0, followed by dashes).
        if indent == 0 and stripped in (_NETWORKS_HEADER, _OI_HEADER, _SUMMARY_HEADER):
            section = {_NETWORKS_HEADER: "networks", _OI_HEADER: "intensity",
                       _SUMMARY_HEADER: "summary"}[stripped]
            level = network = dataspace = None
            sub = None
            if i < n and _DASHES_RE.match(lines[i].strip()):
                i += 1
            continue

        if section in ("levels", "networks") and indent == 0:
            m = (_LEVEL_RE if section == "levels" else _NETWORK_RE).match(stripped)
            if m is None:
                what = "'Level N'" if section == "levels" else "'Network N'"
                raise err(f"expected {what} or a section header, got '{stripped}'", lineno)
            j = i
            if j < n and _DASHES_RE.match(lines[j].strip()):
                j += 1
            j = next_nonblank(j)
            if j >= n:
                raise err(f"file ends after '{stripped}' (truncated?)", lineno)
            name_line = lines[j].strip()
            if section == "levels":
                nm = _NAME_RE.match(name_line)
                if nm is None:
                    raise err(f"expected '=== <level name> ===' after '{stripped}', got '{name_line}'",
                              j + 1)
                level = RawLevel(index=int(m.group(1)), name=nm.group(1).strip(), line=j + 1)
                raw.levels.append(level)
            else:
                network = RawNetwork(index=int(m.group(1)), name=name_line, line=j + 1)
                raw.networks.append(network)
            sub = None
            dataspace = None
            i = j + 1
            continue

        if section in ("levels", "networks"):
            owner = level if section == "levels" else network
            assert owner is not None
            if stripped in ("SPECS", "MAPPING", "STATS") and i < n and _DASHES_RE.match(lines[i].strip()):
                sub = stripped
                dataspace = None
                if isinstance(owner, RawLevel):
                    owner.sections.add(sub)
                i += 1
                continue
            if sub is None:
                raise err(f"expected SPECS, MAPPING or STATS in '{owner.name}', got '{stripped}'", lineno)
            if sub == "MAPPING":
                if stripped != "Loop nest:" and isinstance(owner, RawLevel):
                    owner.loops.append(stripped)
                continue
            m = _KV_RE.match(stripped)
            if m is None:
                raise err(f"expected '<label> : <value>' in {sub} of '{owner.name}', got '{stripped}'",
                          lineno)
            key, value = m.group(1), m.group(2).strip()
            if sub == "SPECS":
                owner.specs[key] = Field(value, lineno)
                continue
            # STATS: a data-space header is a bare "Name:" at the shallowest indent of the block.
            if not value and stripped.endswith(":") and indent <= 4:
                dataspace = {}
                owner.dataspaces[key] = dataspace
                owner.dataspace_lines[key] = lineno
                continue
            if dataspace is not None and indent > 4:
                if indent <= 8:         # deeper lines (multicast histograms, breakdowns) are detail
                    dataspace[key] = Field(value, lineno)
                continue
            if isinstance(owner, RawLevel):
                owner.stats[key] = Field(value, lineno)
                dataspace = None
            continue

        if section == "intensity":
            nm = _NAME_RE.match(stripped)
            if nm is not None:
                raw.intensity_levels.append(nm.group(1).strip())
            continue

        # Summary.
        if stripped in ("fJ/Compute", "fJ/Algorithmic-Compute"):
            in_fj = stripped == "fJ/Compute"
            continue
        if indent > 0 and "=" in stripped:
            # "    Buffer <==> MACC = 0.00": names may contain '=', the value follows the last one.
            key, value = stripped.rsplit("=", 1)
            if in_fj:
                raw.fj_per_compute[key.strip()] = Field(value.strip(), lineno)
            continue
        m = _SUMMARY_KV_RE.match(stripped)
        if m is None:
            raise err(f"unexpected line in {_SUMMARY_HEADER}: '{stripped}'", lineno)
        in_fj = False
        raw.summary[m.group(1)] = Field(m.group(3).strip(), lineno)

    if section != "summary":
        raise _error(source, f"truncated: no '{_SUMMARY_HEADER}' section (file ends at line {n})",
                     f"line {n}")
    return raw


# ----------------------------------------------------------------------------------------------
#  Step 2: numbers
# ----------------------------------------------------------------------------------------------

class _Reader:
    """Typed access to the fields of one block, with errors that name file, line and block."""

    def __init__(self, source: str, where: str, fields: dict[str, Field], line: int):
        self.source = source
        self.where = where
        self.fields = fields
        self.line = line

    def _get(self, key: str) -> Field:
        try:
            return self.fields[key]
        except KeyError:
            raise SpecError(f"missing '{key}' in {self.where} (truncated or not a dense "
                            f"timeloop-model stats file?)", source=self.source,
                            key=f"line {self.line}") from None

    def _bad(self, f: Field, key: str, what: str) -> SpecError:
        return SpecError(f"'{key}' in {self.where} is '{f.value}', expected {what}",
                         source=self.source, key=f"line {f.line}")

    def has(self, key: str) -> bool:
        return key in self.fields

    def integer(self, key: str) -> int:
        f = self._get(key)
        token = f.value.split()[0] if f.value.split() else ""
        if not _INT_RE.match(token):
            raise self._bad(f, key, "an integer")
        return int(token)

    def integer_or_dash(self, key: str) -> int | None:
        """An integer, or None where Timeloop prints ``-`` (e.g. the size of an unbounded level)."""
        f = self._get(key)
        return None if f.value.split()[:1] == ["-"] else self.integer(key)

    def number(self, key: str, unit: str | None = None) -> tuple[float, int]:
        """A printed decimal and its number of decimals; ``unit`` (``pJ``, ``%``) must follow it."""
        f = self._get(key)
        value = f.value
        if unit is not None:
            if not value.endswith(unit):
                raise self._bad(f, key, f"a number in {unit}")
            value = value[: -len(unit)].strip()
        return _decimal(value, lambda: self._bad(f, key, "a number"))

    def text(self, key: str) -> str:
        return self._get(key).value


def _decimal(token: str, bad) -> tuple[float, int]:
    if not _FLOAT_RE.match(token):
        raise bad()
    value = float(token)
    if not math.isfinite(value):
        raise bad()
    from decimal import Decimal  # here, not at the top: writing a stats file (fusemax model) never needs it
    exponent = Decimal(token).as_tuple().exponent
    return value, max(0, -int(exponent))


@dataclass(frozen=True)
class _Energy:
    """A sum of printed energies: ``value`` rounded to the printed decimals ``places``, and ``raw``,
    the plain left-to-right float sum before rounding (the conformance corpus divides that one by
    ``Computes`` for ``pj_per_compute``)."""

    value: float
    places: int
    raw: float


def _term(printed: tuple[float, int]) -> _Energy:
    return _Energy(printed[0], printed[1], printed[0])


def _sum(terms: list[_Energy]) -> _Energy:
    """Sum energies; the result is rounded to the largest number of decimals among the terms."""
    if not terms:
        return _Energy(0.0, 0, 0.0)
    places = max(t.places for t in terms)
    raw = 0.0
    for t in terms:
        raw += t.raw
    return _Energy(round(math.fsum(t.raw for t in terms), places), places, raw)


def _origin_of(raw: RawStatsFile, origin: str | None) -> str:
    if origin is not None:
        return origin
    if _PREAMBLE_SOURCE in raw.preamble:
        return raw.preamble[_PREAMBLE_SOURCE].value
    return DEFAULT_ORIGIN


def stats_from_sections(raw: RawStatsFile, origin: str | None = None) -> Stats:
    """Numbers of a :class:`RawStatsFile` as a :class:`Stats` (see the module docstring)."""
    src = raw.source
    if raw.error is not None and not raw.levels:
        return Stats(valid=False, error=raw.error.value, source=_origin_of(raw, origin))
    if not raw.levels:
        raise SpecError(f"no 'Level N' blocks under '{_LEVELS_HEADER}'", source=src)

    arithmetic: dict[str, ArithmeticStats] = {}
    arithmetic_energy: list[_Energy] = []
    levels: dict[str, LevelStats] = {}
    level_energy: list[_Energy] = []
    for lv in raw.levels:
        where = f"Level {lv.index} '{lv.name}'"
        if "STATS" not in lv.sections:
            raise SpecError(f"{where} has no STATS section (truncated, or the mapping was not "
                            f"evaluated)", source=src, key=f"line {lv.line}")
        specs = _Reader(src, f"SPECS of {where}", lv.specs, lv.line)
        stats = _Reader(src, f"STATS of {where}", lv.stats, lv.line)
        if lv.is_arithmetic:
            energy = _term(stats.number("Energy (total)", "pJ"))
            arithmetic_energy.append(energy)
            arithmetic[lv.name] = ArithmeticStats(
                instances=specs.integer("Instances"),
                utilized_instances=stats.integer("Utilized instances"),
                computes=stats.integer("Computes (total)"),
                cycles=stats.integer("Cycles"),
                energy_pj=energy.value)
            continue
        dataspaces: dict[str, DataspaceStats] = {}
        terms: list[_Energy] = []
        for ds_name, ds_fields in lv.dataspaces.items():
            ds = _Reader(src, f"data space '{ds_name}' of {where}", ds_fields,
                         lv.dataspace_lines[ds_name])
            ds_terms = [_term(ds.number(key, "pJ")) for key in (
                "Energy (total)", "Temporal Reduction Energy (total)",
                "Address Generation Energy (total)")]
            ds_energy = _sum(ds_terms)
            terms.append(ds_energy)
            dataspaces[ds_name] = DataspaceStats(
                utilized_capacity=ds.integer("Utilized capacity"),
                utilized_instances=ds.integer("Utilized instances (max)"),
                reads_per_instance=ds.integer("Scalar reads (per-instance)"),
                fills_per_instance=ds.integer("Scalar fills (per-instance)"),
                updates_per_instance=ds.integer("Scalar updates (per-instance)"),
                temporal_reductions_per_instance=ds.integer("Temporal reductions (per-instance)"),
                partition_size=ds.integer("Partition size"),
                utilized_clusters=ds.integer("Utilized clusters (max)"),
                address_generations_per_cluster=ds.integer("Address generations (per-cluster)"),
                energy_pj=ds_energy.value)
        if specs.has("Leakage energy (total)"):
            terms.append(_term(specs.number("Leakage energy (total)", "pJ")))
        energy = _sum(terms)
        level_energy.append(energy)
        if lv.name in levels:
            raise SpecError(f"level name '{lv.name}' printed twice", source=src, key=f"line {lv.line}")
        levels[lv.name] = LevelStats(
            cycles=stats.integer("Cycles"),
            energy_pj=energy.value,
            bandwidth_throttling=stats.number("Bandwidth throttling")[0],
            instances=specs.integer("Instances"),
            block_size=specs.integer("Block size"),
            size=specs.integer_or_dash("Size"),
            vector_access_energy_source=specs.text("Vector access energy source"),
            dataspaces=dataspaces)
    if not arithmetic:
        raise SpecError("no arithmetic level (a block with 'Computes (total)')", source=src)

    networks: dict[str, float] = {}
    network_energy: list[_Energy] = []
    for nw in raw.networks:
        terms = []
        for ds_name, ds_fields in nw.dataspaces.items():
            ds = _Reader(src, f"data space '{ds_name}' of Network {nw.index} '{nw.name}'", ds_fields,
                         nw.dataspace_lines[ds_name])
            for key in ("Energy (total)", "Link transfer energy (total)",
                        "Spatial Reduction Energy (total)"):
                if key == "Energy (total)" or ds.has(key):
                    terms.append(_term(ds.number(key, "pJ")))
        energy = _sum(terms)
        network_energy.append(energy)
        networks[nw.name] = energy.value

    summary = _Reader(src, f"'{_SUMMARY_HEADER}'", raw.summary, raw.n_lines)
    if summary.has("Utilization") and summary.text("Utilization").endswith("%"):
        percent, places = summary.number("Utilization", "%")
        utilization = round(percent / 100, places + 2)
    else:
        utilization = summary.number("Utilization")[0]
    computes = summary.integer("Computes")
    total = _sum(arithmetic_energy + level_energy + network_energy)
    return Stats(
        valid=True,
        computes=computes,
        cycles=summary.integer("Cycles"),
        utilization=utilization,
        energy_pj=total.value,
        pj_per_compute=total.raw / computes if computes else 0.0,
        levels=levels,
        arithmetic=arithmetic,
        networks=networks,
        source=_origin_of(raw, origin))


def parse_stats_text(text: str, source: str = "<stats.txt>", *, origin: str | None = None) -> Stats:
    """Parse the text of a ``timeloop-model.stats.txt``.

    ``source`` names the text in error messages. ``origin`` becomes ``Stats.source`` (for example
    ``"timeloop-model v3.0.3"``); by default it is the ``Source:`` line of a fusemax-written file, else
    :data:`DEFAULT_ORIGIN`.
    """
    return stats_from_sections(read_sections(text, source), origin)


def parse_stats_file(path: str | Path, *, origin: str | None = None) -> Stats:
    """Parse a ``timeloop-model.stats.txt`` file (see :func:`parse_stats_text`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise SpecError(f"cannot read file: {reason}", source=str(path)) from None
    return parse_stats_text(text, str(path), origin=origin)


# ----------------------------------------------------------------------------------------------
#  Writer
# ----------------------------------------------------------------------------------------------

_IN = "    "


def _fmt(value: float, precision: int | None) -> str:
    if precision is None:
        return repr(float(value))
    return f"{value:.{precision}f}"


def _kv(indent: str, label: str, width: int, value: str) -> str:
    return f"{indent}{label:<{width}} : {value}"


def format_stats(stats: Stats, spec_name: str = "fusemax model", *, precision: int | None = 2,
                 loop_nests: dict[str, list[str]] | None = None) -> str:
    """Write ``stats`` as a ``timeloop-model.stats.txt`` (Timeloop's layout and labels).

    A short preamble (``spec_name`` and ``stats.source``) precedes Timeloop's first section; the parser
    skips it. Energies and other decimals are printed with ``precision`` decimals (2, as Timeloop does)
    or, with ``precision=None``, as full ``repr`` floats. ``loop_nests`` optionally gives each storage
    level's loop lines (outermost first, e.g. ``"for P in [0:16)"``) for the MAPPING sections.
    An invalid ``Stats`` is written as the preamble plus its ``ERROR:`` line.
    """
    out: list[str] = [
        "Timeloop-style statistics written by fusemax",
        f"{_PREAMBLE_SPEC}: {spec_name}",
        f"{_PREAMBLE_SOURCE}: {stats.source}",
        "",
    ]
    if not stats.valid:
        out.append(f"ERROR: {stats.error or 'invalid mapping'}")
        return "\n".join(out) + "\n"

    def num(x: float) -> str:
        return _fmt(x, precision)

    out += [_LEVELS_HEADER, "-" * len(_LEVELS_HEADER)]
    level_id = 0
    for name, ar in stats.arithmetic.items():
        out += [f"Level {level_id}", "-------", f"=== {name} ===", "",
                f"{_IN}SPECS", f"{_IN}-----",
                _kv(_IN, "Instances", 21, str(ar.instances)),
                _kv(_IN, "Compute energy", 21, num(ar.energy_pj / ar.computes if ar.computes else 0.0)
                    + " pJ"),
                "", f"{_IN}STATS", f"{_IN}-----",
                _kv(_IN, "Utilized instances", 23, str(ar.utilized_instances)),
                _kv(_IN, "Computes (total)", 23, str(ar.computes)),
                _kv(_IN, "Cycles", 23, str(ar.cycles)),
                _kv(_IN, "Energy (total)", 23, num(ar.energy_pj) + " pJ"),
                ""]
        level_id += 1

    dataspace_names: list[str] = []
    for name, lv in stats.levels.items():
        printed_ds = {ds: float(num(d.energy_pj)) for ds, d in lv.dataspaces.items()}
        leakage = lv.energy_pj - math.fsum(printed_ds.values())
        slack = (0.5 * 10.0 ** -precision * (len(printed_ds) + 1) if precision is not None
                 else 1e-12 * max(1.0, abs(lv.energy_pj)))
        spec_lines = [
            ("Size", "-" if lv.size is None else str(lv.size)),
            ("Block size", str(lv.block_size)),
            ("Instances", str(lv.instances)),
            ("Vector access energy source", lv.vector_access_energy_source),
        ]
        if abs(leakage) > slack:
            # Energy not attributed to any data space: Timeloop prints such (leakage) energy in SPECS.
            spec_lines.insert(3, ("Leakage energy (total)", num(leakage) + " pJ"))
        out += [f"Level {level_id}", "-------", f"=== {name} ===", "", f"{_IN}SPECS", f"{_IN}-----"]
        out += [_kv(_IN * 2, label, 27, value) for label, value in spec_lines]
        out.append("")
        if loop_nests and name in loop_nests:
            out += [f"{_IN}MAPPING", f"{_IN}-------", f"{_IN}Loop nest:"]
            out += [f"{_IN}{'  ' * (k + 1)}{loop}" for k, loop in enumerate(loop_nests[name])]
            out.append("")
        out += [f"{_IN}STATS", f"{_IN}-----",
                f"{_IN}Cycles               : {lv.cycles}",
                f"{_IN}Bandwidth throttling : {num(lv.bandwidth_throttling)}"]
        for ds_name, d in lv.dataspaces.items():
            if ds_name not in dataspace_names:
                dataspace_names.append(ds_name)
            accesses = d.reads_per_instance + d.fills_per_instance + d.updates_per_instance
            inst = d.utilized_instances
            per_instance = d.energy_pj / inst if inst else 0.0
            read_bw = d.reads_per_instance / lv.cycles if lv.cycles else 0.0
            write_bw = (d.fills_per_instance + d.updates_per_instance) / lv.cycles if lv.cycles else 0.0
            rows = [
                ("Partition size", str(d.partition_size)),
                ("Utilized capacity", str(d.utilized_capacity)),
                ("Utilized instances (max)", str(d.utilized_instances)),
                ("Utilized clusters (max)", str(d.utilized_clusters)),
                ("Scalar reads (per-instance)", str(d.reads_per_instance)),
                ("Scalar updates (per-instance)", str(d.updates_per_instance)),
                ("Scalar fills (per-instance)", str(d.fills_per_instance)),
                ("Temporal reductions (per-instance)", str(d.temporal_reductions_per_instance)),
                ("Address generations (per-cluster)", str(d.address_generations_per_cluster)),
                ("Energy (per-scalar-access)", num(per_instance / accesses if accesses else 0.0) + " pJ"),
                ("Energy (per-instance)", num(per_instance) + " pJ"),
                ("Energy (total)", num(d.energy_pj) + " pJ"),
                ("Temporal Reduction Energy (per-instance)", num(0.0) + " pJ"),
                ("Temporal Reduction Energy (total)", num(0.0) + " pJ"),
                ("Address Generation Energy (per-cluster)", num(0.0) + " pJ"),
                ("Address Generation Energy (total)", num(0.0) + " pJ"),
                ("Shared Bandwidth (per-instance)", num(read_bw + write_bw) + " words/cycle"),
                ("Shared Bandwidth (total)", num((read_bw + write_bw) * inst) + " words/cycle"),
                ("Read Bandwidth (per-instance)", num(read_bw) + " words/cycle"),
                ("Read Bandwidth (total)", num(read_bw * inst) + " words/cycle"),
                ("Write Bandwidth (per-instance)", num(write_bw) + " words/cycle"),
                ("Write Bandwidth (total)", num(write_bw * inst) + " words/cycle"),
            ]
            out.append(f"{_IN}{ds_name}:")
            out += [_kv(_IN * 2, label, 40, value) for label, value in rows]
        out.append("")
        level_id += 1

    out += [_NETWORKS_HEADER, "-" * len(_NETWORKS_HEADER)]
    # A Stats keeps one energy per network; it is printed on the first data space, the rest get 0.
    network_ds = dataspace_names or ["Data"]
    for network_id, (name, energy) in enumerate(stats.networks.items()):
        out += [f"Network {network_id}", "---------", name, "", f"{_IN}STATS", f"{_IN}-----"]
        for k, ds_name in enumerate(network_ds):
            out.append(f"{_IN}{ds_name}:")
            out += [_kv(_IN * 2, label, 39, num(energy if (k == 0 and label == "Energy (total)")
                                                 else 0.0) + " pJ")
                    for label in ("Energy (total)", "Link transfer energy (total)",
                                  "Spatial Reduction Energy (total)")]
        out.append("")

    out += ["", _SUMMARY_HEADER, "-" * len(_SUMMARY_HEADER),
            f"Utilization: {num(stats.utilization)}",
            f"Cycles: {stats.cycles}",
            f"Energy: {num(stats.energy_pj / 1e6)} uJ",
            f"EDP(J*cycle): {stats.cycles * stats.energy_pj / 1e12:.2e}",
            "",
            f"Computes = {stats.computes}",
            "fJ/Compute"]
    breakdown = ([(n, a.energy_pj) for n, a in stats.arithmetic.items()]
                 + [(n, lv.energy_pj) for n, lv in stats.levels.items()]
                 + list(stats.networks.items()) + [("Total", stats.energy_pj)])
    align = max(len(n) for n, _ in breakdown) + 1
    for name, energy in breakdown:
        per = energy * 1000 / stats.computes if stats.computes else 0.0
        out.append(f"{_IN}{name:<{align}}= {num(per)}")
    return "\n".join(out) + "\n"
