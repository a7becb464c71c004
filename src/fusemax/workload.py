"""Workloads (model x sequence length x phase x batch) and the hardware parameters of a run.

A transformer layer is described by the ranks of the FuseMax paper: D (model dim), H (heads),
E = F (head dim of queries/keys and of values), S (FFN dim), plus the batch B and the two sequence ranks
P (queries) and M (keys). The model zoo is ``problems/models.yaml``; add your own models with a YAML file in
the same format (``load_models(extra=...)``, ``--models-file``) or on the command line
(``--model "mine:D=1024,H=16,E=64,S=4096"``).

Phases:

* ``prefill``: every token attends to every token, P = M = sequence length (the paper's setting).
* ``decode``: one new query against the cached keys, P = 1 and M = sequence length.

Lengths are written like the artifact: ``512``, ``1K``, ``4K`` ... ``1M`` with K = 1024; plain integers
are accepted too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from fusemax import paper, yamlio
from fusemax.errors import WorkloadError
from fusemax.names import check_name, name_key, printable
from fusemax.stats import MAX_COUNT
from fusemax.templates import template_root
from fusemax.units import (
    BINARY_PREFIXES,
    format_bandwidth,
    format_bytes,
    format_frequency,
    parse_bandwidth,
    parse_bytes,
    spelled,
)

__all__ = ["parse_bandwidth", "parse_bytes"]  # their home is fusemax.units; kept importable from here

#: The phases of a workload: the whole prompt at once, or one new token per sequence against its K/V cache.
PREFILL = "prefill"
DECODE = "decode"
PHASES = (PREFILL, DECODE)
#: The paper's batch.
DEFAULT_BATCH = 64

#: the model ranks a zoo entry must give, in the order tables print them
MODEL_RANKS = ("D", "H", "E", "F", "S")



@dataclass(frozen=True)
class Model:
    """One transformer model: D model dim, H heads, E = F head dim, S FFN dim.

    ``kv_heads`` is the number of key/value heads when it differs from H (grouped-query attention): K and V
    are read per KV head by attention and projected to KV heads. ``mlp`` is ``"plain"`` (LayerNorm,
    FFN1 -> GELU -> FFN2) or ``"gated"`` (the Llama family: RMSNorm and a SwiGLU MLP, gate and up
    projections then SiLU(gate) x up then down). ``source`` says where the numbers come from.

    ``mask`` is attention's mask in prefill: ``"none"`` (bidirectional: every query sees every key; encoders
    such as BERT, and the paper's models as the artifact defines them), ``"causal"`` (a query sees itself and
    the keys before it: decoder-only LLMs) or ``"window"`` (causal within the last ``window`` keys, Mistral's
    sliding window). ``layers`` and ``vocab`` (the number of layers and the vocabulary) size the whole model;
    None where a model does not say.
    """

    name: str
    D: int
    H: int
    E: int
    F: int
    S: int
    kv_heads: int | None = None
    source: str = ""
    mlp: str = "plain"
    mask: str = "none"
    window: int | None = None
    layers: int | None = None
    vocab: int | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        for rank, value in zip(MODEL_RANKS, (self.D, self.H, self.E, self.F, self.S)):
            if type(value) is int and 0 < value <= MAX_COUNT:
                continue  # the usual case in one test (a models file may hold a million models)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise WorkloadError(f"{rank} must be a positive integer, got {value!r}", source=self.name)
            if value > MAX_COUNT:
                raise WorkloadError(f"{rank} = {value} is beyond the 64-bit model (at most 2**63 - 1)",
                                    source=self.name)
        if self.kv_heads is not None and (
                not isinstance(self.kv_heads, int) or self.kv_heads < 1 or self.H % self.kv_heads):
                raise WorkloadError(f"kv_heads must be a positive divisor of H={self.H}, got {self.kv_heads!r}",
                                    source=self.name)
        if self.mlp not in MLPS:
            raise WorkloadError(f"mlp must be one of {', '.join(MLPS)}, got {self.mlp!r}", source=self.name)
        if self.mask not in MASKS:
            raise WorkloadError(f"mask must be one of {', '.join(MASKS)}, got {self.mask!r}", source=self.name)
        if self.mask != "none" or self.window is not None or self.layers is not None or self.vocab is not None:
            self._check_mask_and_size()  # skipped in the usual case of a big models file: none of them given

    def _check_mask_and_size(self) -> None:
        if (self.mask == "window") != (self.window is not None):
            raise WorkloadError("a window mask needs its size (window: N), and only a window mask has one",
                                source=self.name)
        for name in ("window", "layers", "vocab"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 0 < value <= MAX_COUNT):
                raise WorkloadError(f"{name} must be a positive integer, got {value!r}", source=self.name)

    @property
    def KV(self) -> int:
        """Key/value heads (H unless the model uses grouped-query attention)."""
        return self.kv_heads or self.H


#: The MLP families a model may declare (``mlp:`` in the zoo).
MLPS = ("plain", "gated")
#: Attention masks a model may declare (``mask:`` in the zoo; ``window`` with ``window: N``).
MASKS = ("none", "causal", "window")


def parse_mask(text: str) -> tuple[str, int | None]:
    """``"none"``, ``"causal"`` or ``"window:N"`` -> (mask, window size or None); what ``--mask`` takes."""
    kind, _, size = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind in ("none", "causal") and not size:
        return kind, None
    if kind == "window" and size.strip().isdigit() and int(size) > 0:
        return "window", int(size)
    raise WorkloadError(f"bad mask {text!r}; use none, causal or window:N (N keys, e.g. window:4096)",
                        source="--mask")


def mask_label(model: "Model") -> str:
    """The mask as ``--mask`` spells it (``none``, ``causal``, ``window:4096``): what results record."""
    return f"window:{model.window}" if model.mask == "window" else model.mask


def zoo_path() -> Path:
    """The bundled model zoo, ``problems/models.yaml``."""
    return template_root() / "problems" / "models.yaml"


def _file_version(path: Path) -> tuple[str, int, int]:
    """The arguments of :func:`_parse_models_file` for the current version of ``path``."""
    try:
        stat = path.stat()
    except OSError:
        return str(path), 0, -1  # let the parse report the unreadable file
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


#: the fields a models-file entry may give, and those it must
_MODEL_FIELDS = frozenset((*MODEL_RANKS, "kv_heads", "mlp", "mask", "window", "layers", "vocab", "source"))
_REQUIRED_FIELDS = frozenset(("D", "H", "E", "S"))


@lru_cache(maxsize=16)
def _parse_models_file(path_text: str, mtime_ns: int, size: int) -> tuple[dict[str, Model], dict[str, str]]:
    """The models of one file and their names by :func:`~fusemax.names.name_key`, parsed once per version
    of it (sweeps resolve a model per Einsum job). Shared between callers: read them, never change them."""
    with yamlio.gc_paused():  # a models file may hold a million models
        return _read_models(Path(path_text))


def _read_models(path: Path) -> tuple[dict[str, Model], dict[str, str]]:
    data = yamlio.load(path)
    if isinstance(data, dict) and "models" not in data and _HF_MARKERS & data.keys():
        model = model_from_hf_config(data, path)
        return {model.name: model}, {name_key(model.name): model.name}
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise WorkloadError("expected a top-level 'models:' mapping of name -> {D, H, E, S, ...} (the zoo's "
                            "format) or a HuggingFace config.json (model_type, hidden_size, ...)", source=str(path))
    models = {}
    keys: dict[str, str] = {}  # name_key -> the name that has it
    for name, entry in data["models"].items():
        name = str(name)
        other = keys.setdefault(name_key(name), name)
        # The checks build no set (and no message) when they pass: a models file may hold a million models.
        if (other != name or not isinstance(entry, dict) or not entry.keys() <= _MODEL_FIELDS
                or not entry.keys() >= _REQUIRED_FIELDS):
            _refuse_entry(path, name, other, entry)
        try:
            models[name] = Model(name=name, D=entry["D"], H=entry["H"], E=entry["E"], F=entry["F"] if "F" in entry else entry["E"],
                                 S=entry["S"], kv_heads=entry.get("kv_heads"), source=str(entry.get("source", "")),
                                 mlp=str(entry.get("mlp", "plain")), mask=str(entry.get("mask", "none")),
                                 window=entry.get("window"), layers=entry.get("layers"), vocab=entry.get("vocab"))
        except WorkloadError as exc:
            raise WorkloadError(exc.reason, source=str(path), key=f"models.{printable(name)}") from None
    return models, keys


def _refuse_entry(path: Path, name: str, other: str, entry: Any) -> None:
    """The error for a models-file entry that fails :func:`_read_models`' checks."""
    key = f"models.{printable(name)}"
    if other != name:
        raise WorkloadError(f"models {other!r} and {name!r} differ only by case or punctuation, and would "
                            "share figure files; rename one", source=str(path), key=key)
    if not isinstance(entry, dict):
        raise WorkloadError("expected a mapping with D, H, E, S", source=str(path), key=key)
    if not entry.keys() <= _MODEL_FIELDS:
        unknown = entry.keys() - _MODEL_FIELDS
        raise WorkloadError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; allowed: "
                            f"{', '.join(MODEL_RANKS)}, kv_heads, mlp, mask, window, layers, vocab, source",
                            source=str(path), key=key)
    missing = [rank for rank in MODEL_RANKS if rank in _REQUIRED_FIELDS and rank not in entry]
    raise WorkloadError(f"missing {', '.join(missing)}", source=str(path), key=key)


#: how a model read from a HuggingFace ``config.json`` names its source
_HF_SOURCE = "HuggingFace config.json"
#: keys that mark a mapping as a HuggingFace ``config.json`` rather than a models file
_HF_MARKERS = frozenset(("model_type", "architectures", "hidden_size", "d_model", "n_embd"))
#: The spellings of each field across model families, first found wins (Llama/Mistral/Qwen2, OPT,
#: GPT-NeoX, Falcon, GPT-2, BERT).
_HF_KEYS: dict[str, tuple[str, ...]] = {
    "D": ("hidden_size", "d_model", "n_embd"),
    "H": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "S": ("intermediate_size", "ffn_dim", "ffn_hidden_size", "n_inner", "d_ff"),
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "vocab": ("vocab_size",),
    "act": ("hidden_act", "activation_function", "hidden_activation"),
}
#: Families whose FFN is 4 x hidden when the config leaves it out (Falcon, GPT-2: ``n_inner: null``).
_HF_FFN_4X = frozenset(("falcon", "RefinedWeb", "RefinedWebModel", "gpt2", "gpt_bigcode"))
#: Families whose MLP is gated with a GELU too (Gemma's GeGLU says ``gelu_pytorch_tanh``).
_HF_GATED = frozenset(("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3"))
#: Decoder-only families (causal mask) and encoders (no mask), by ``model_type``, when ``architectures``
#: and ``is_decoder`` do not say.
_HF_DECODERS = frozenset(("llama", "mistral", "qwen2", "qwen3", "opt", "gpt_neox", "falcon", "RefinedWeb",
                          "RefinedWebModel", "gpt2", "gptj", "gpt_bigcode", "gemma", "gemma2", "phi", "phi3",
                          "bloom", "mpt", "stablelm"))
_HF_ENCODERS = frozenset(("bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra", "deberta",
                          "deberta-v2", "mpnet"))
#: Fields that make the layer something fusemax does not model; a config that sets one is refused, never
#: read as the dense layer it is not.
_HF_REFUSED: dict[str, str] = {
    "num_local_experts": "a mixture of experts", "num_experts": "a mixture of experts",
    "n_routed_experts": "a mixture of experts", "kv_lora_rank": "multi-head latent attention (MLA)",
    "q_lora_rank": "multi-head latent attention (MLA)", "is_encoder_decoder": "an encoder-decoder (cross-attention)",
    "add_cross_attention": "cross-attention"}


def _hf_field(data: dict[str, Any], what: str) -> tuple[str, Any] | None:
    """(key, value) of the first spelling of ``what`` the config gives a value (not null), else None."""
    for key in _HF_KEYS[what]:
        if data.get(key) is not None:
            return key, data[key]
    return None


def _hf_int(data: dict[str, Any], what: str, path: Path) -> int:
    found = _hf_field(data, what)
    if found is None:
        raise WorkloadError(f"missing {' / '.join(_HF_KEYS[what])}", source=str(path), key=_HF_KEYS[what][0])
    key, value = found
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise WorkloadError(f"must be a positive integer, got {value!r}", source=str(path), key=key)
    return value


def _hf_name(data: dict[str, Any], path: Path) -> str:
    """``_name_or_path``'s last part (``Qwen/Qwen2-7B`` -> ``Qwen2-7B``), else the folder of a file called
    ``config.json``, else the file's stem."""
    given = str(data.get("_name_or_path") or "").rstrip("/").rsplit("/", 1)[-1]
    if given:
        return given
    resolved = path.resolve()
    return resolved.parent.name if resolved.name == "config.json" else resolved.stem


def _hf_decoder(data: dict[str, Any], path: Path) -> bool:
    architectures = [str(a) for a in data.get("architectures") or ()]
    if data.get("is_decoder") or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return True
    model_type = data.get("model_type")
    if model_type in _HF_DECODERS or model_type in _HF_ENCODERS:
        return model_type in _HF_DECODERS
    if architectures:
        return False  # an encoder head (ForMaskedLM, ForSequenceClassification, Model)
    raise WorkloadError(f"cannot tell whether model_type {model_type!r} is a decoder (causal mask) or an encoder; "
                        "give architectures (e.g. [LlamaForCausalLM]) or is_decoder", source=str(path),
                        key="architectures")


def model_from_hf_config(data: dict[str, Any], path: str | Path) -> Model:
    """The :class:`Model` of a HuggingFace ``config.json`` (its parsed mapping; ``path`` names it in errors).

    D, H, S, layers and vocab from their usual spellings (``hidden_size``/``d_model``/``n_embd``,
    ``num_attention_heads``/``n_head``, ``intermediate_size``/``ffn_dim``/``ffn_hidden_size``, 4 x D for
    Falcon and GPT-2 without one, ``num_hidden_layers``/``n_layer``, ``vocab_size``); KV heads from
    ``num_key_value_heads``/``num_kv_heads``/``n_head_kv`` (``multi_query: true``: 1); E = ``head_dim``,
    else D / H. ``hidden_act`` silu/swiglu is the gated MLP, gelu*/relu* the plain one (also when no
    activation is given) except in the gated families (Llama, Mistral, Qwen2, Gemma's GeGLU, Phi-3). Decoders (``*ForCausalLM``,
    ``is_decoder``, decoder families) are causal; ``sliding_window`` (unless ``use_sliding_window`` is
    false) makes it a window mask. Mixture of experts, MLA and cross-attention are refused naming the field;
    other fields (positional encodings, biases, dropout, tied embeddings ...) do not change the Einsums
    fusemax counts and are ignored.
    """
    path = Path(path)
    for key, what in _HF_REFUSED.items():
        if data.get(key):
            raise WorkloadError(f"set ({data[key]!r}): {what}, which fusemax does not model (one dense attention "
                                "and MLP per layer); refused rather than dropped", source=str(path), key=key)
    if len(set(map(str, data.get("layer_types") or ()))) > 1:
        raise WorkloadError("layers of different attention kinds (e.g. sliding and full): fusemax models one "
                            "layer repeated", source=str(path), key="layer_types")
    model_type = str(data.get("model_type") or "")
    D, H, layers, vocab = (_hf_int(data, what, path) for what in ("D", "H", "layers", "vocab"))
    S = 4 * D if _hf_field(data, "S") is None and model_type in _HF_FFN_4X else _hf_int(data, "S", path)
    head_dim = data.get("head_dim")
    if head_dim is None:
        if D % H:
            raise WorkloadError(f"hidden size {D} is not a multiple of {H} heads; give head_dim", source=str(path),
                                key="head_dim")
        head_dim = D // H
    kv: Any = next((data[k] for k in ("num_key_value_heads", "num_kv_heads", "n_head_kv") if data.get(k) is not None),
                   1 if data.get("multi_query") else None)
    act_found = _hf_field(data, "act")
    act = str(act_found[1]).lower() if act_found else "gelu"
    if act in ("silu", "swish", "swiglu"):
        mlp = "gated"
    elif act.startswith(("gelu", "relu")):
        mlp = "gated" if model_type in _HF_GATED else "plain"
    else:
        raise WorkloadError(f"activation {act!r} is neither gated (silu, swiglu) nor plain (gelu*, relu*)",
                            source=str(path), key=act_found[0] if act_found else "hidden_act")
    mask, window = ("causal", None) if _hf_decoder(data, path) else ("none", None)
    # Qwen2: layers from max_window_layers on slide (0 or absent: all of them, the number of layers: none)
    slid_from = data.get("max_window_layers") or 0
    if data.get("sliding_window") and data.get("use_sliding_window", True) and slid_from < layers:
        if slid_from:
            raise WorkloadError(f"a sliding window on layers {slid_from} to {layers - 1} only: fusemax models "
                                "one layer repeated", source=str(path), key="max_window_layers")
        mask, window = "window", data["sliding_window"]
    name = _hf_name(data, path)
    try:
        return Model(name=name, D=D, H=H, E=head_dim, F=head_dim, S=S, kv_heads=kv, mlp=mlp, mask=mask,
                     window=window, layers=layers, vocab=vocab, source=f"{_HF_SOURCE} {path}")
    except WorkloadError as exc:
        raise WorkloadError(exc.reason, source=str(path)) from None


def load_models(extra: str | Path | None = None) -> dict[str, Model]:
    """The zoo (``problems/models.yaml``) plus the user's models ``extra``; its entries override zoo
    entries of the same name.

    ``extra`` is a YAML file in the zoo's format (``models: {NAME: {D:, H:, E:, S:, F:?, kv_heads:?, ...}}``),
    a HuggingFace ``config.json`` (one model, see :func:`model_from_hf_config`), or a folder of
    ``config.json`` files: each ``*.json`` in it and each ``*/config.json`` one level down is one model.
    """
    models = dict(_parse_models_file(*_file_version(zoo_path()))[0])
    if extra is not None:
        path = Path(extra)
        if path.is_dir():
            files = sorted({*path.glob("*.json"), *path.glob("*/config.json")})
            if not files:
                raise WorkloadError("models folder holds no config.json (*.json or */config.json)", source=str(path))
            for file in files:
                _add_models(models, file)
        elif not path.is_file():
            raise WorkloadError("models file not found", source=str(path))
        else:
            _add_models(models, path)
    return models


def _extra_files(extra: str | Path) -> list[Path]:
    """The files of a models file or folder (each ``*.json`` in a folder and each ``*/config.json``)."""
    path = Path(extra)
    return sorted({*path.glob("*.json"), *path.glob("*/config.json")}) if path.is_dir() else [path]


def _add_models(models: dict[str, Model], path: Path) -> None:
    """``models`` updated with the models of ``path``, refusing one whose name differs from a model already
    there only by case or punctuation (the file's own names are checked against each other when it is read)."""
    own, keys = _parse_models_file(*_file_version(path))
    renamed = {}
    for known in models:
        twin = keys.get(name_key(known), known)
        if twin == known:
            continue
        if own[twin].source.startswith(_HF_SOURCE):  # named by its _name_or_path, not by the user: it overrides
            renamed[twin] = replace(own[twin], name=known)
            continue
        raise WorkloadError(f"model {twin!r} differs from {known!r} only by case or punctuation; spell it "
                            f"{known!r} to override it, or rename it", source=str(path), key=f"models.{printable(twin)}")
    models.update({renamed[name].name if name in renamed else name: renamed.get(name, model)
                   for name, model in own.items()})


def get_model(name: str, extra: str | Path | None = None) -> Model:
    """The model called ``name`` (exact, else case-insensitive); unknown names list the known ones."""
    models = load_models(extra)
    if name in models:
        return models[name]
    folded = {key.lower(): model for key, model in models.items()}
    if name.lower() in folded:
        return folded[name.lower()]
    raise WorkloadError(f"unknown model {name!r}; known models: {', '.join(models)} "
                        "(or give one inline as NAME:D=..,H=..,E=..,S=..)", source="--model")


_SPEC_KEYS = {"D": "D", "H": "H", "E": "E", "F": "F", "S": "S", "KV": "kv_heads", "KV_HEADS": "kv_heads",
              "LAYERS": "layers", "VOCAB": "vocab", "WINDOW": "window", "MLP": "mlp", "MASK": "mask"}


def parse_model_spec(text: str) -> Model:
    """A model from the command line: ``"NAME:D=1024,H=16,E=64,S=4096"`` (F defaults to E); optional
    ``KV=``, ``layers=``, ``vocab=``, ``mlp=plain|gated`` (default plain), ``mask=none|causal|window:N``
    (default none) and ``window=N`` (a window mask of N keys)."""
    name, sep, body = text.partition(":")
    if not sep or not name.strip():
        raise WorkloadError(f"model spec {text!r} must look like NAME:D=..,H=..,E=..,S=..", source="--model")
    check_name(name.strip(), source="--model")
    values: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        key, eq, value = item.partition("=")
        field_name = _SPEC_KEYS.get(key.strip().upper())
        if not eq or field_name is None:
            raise WorkloadError(f"bad item {item!r} in model spec {text!r}; use D=, H=, E=, F=, S=, KV=, layers=, "
                                "vocab=, mlp=, mask=, window=", source="--model")
        if field_name in values:  # KV and KV_HEADS are one field; window= is a window mask
            raise WorkloadError(f"{key.strip()} is given twice in model spec {text!r}; give each key once",
                                source="--model")
        if field_name == "mlp":
            values["mlp"] = value.strip().lower()
            continue
        if field_name == "mask":
            values["mask"], size = parse_mask(value)
            values.setdefault("window", size)
            continue
        if field_name == "window":
            values["mask"] = "window"
        try:
            values[field_name] = int(value)
        except ValueError:
            raise WorkloadError(f"{key} must be an integer in model spec {text!r}", source="--model") from None
    missing = [rank for rank in ("D", "H", "E", "S") if rank not in values]
    if missing:
        raise WorkloadError(f"model spec {text!r} is missing {', '.join(missing)}", source="--model")
    values.setdefault("F", values["E"])
    return Model(name=name.strip(), source="command line", **values)


def resolve_model(text: str, extra: str | Path | None = None) -> Model:
    """A zoo/file model by name, or an inline ``NAME:D=..`` spec (what ``--model`` accepts)."""
    return parse_model_spec(text) if ":" in text else get_model(text, extra)


def resolve_models(texts: list[str], extra: str | Path | None = None, source: str = "--models") -> list[Model]:
    """The models of one run (:func:`resolve_model` of each), refusing two that share a
    :func:`~fusemax.names.name_key` -- they would write rows and figures under one name: the same zoo model
    asked for twice (``BERT,bert``), two inline models ``A.B`` and ``A-B``, or an inline model named like a
    zoo/file model (``bert:D=..``). The error names both."""
    models = [resolve_model(text, extra) for text in texts]
    known = _known_names(extra) if any(":" in text for text in texts) else {}
    seen: dict[str, str] = {}  # name_key -> how the user asked for it
    for text, model in zip(texts, models):
        asked, key = text.split(":")[0].strip(), name_key(model.name)
        if key in seen:
            raise WorkloadError(f"{seen[key]!r} and {asked!r} name the same model (names are compared ignoring "
                                "case and punctuation); give each model once, under distinct names", source=source)
        seen[key] = asked
        if ":" in text and key in known:
            raise WorkloadError(f"inline model {asked!r} has the name of the known model {known[key]!r} (names are "
                                "compared ignoring case and punctuation); choose another name", source=source)
    return models


def _known_names(extra: str | Path | None) -> dict[str, str]:
    """The zoo's and the models file's names by :func:`~fusemax.names.name_key`."""
    load_models(extra)  # refuses a file whose names fold onto the zoo's
    keys = dict(_parse_models_file(*_file_version(zoo_path()))[1])
    for path in _extra_files(extra) if extra is not None else ():
        keys.update(_parse_models_file(*_file_version(path))[1])
    return keys


_LENGTH = re.compile(r"^\s*(\d+)\s*([kKmM]?)\s*$")


def parse_seq_len(value: str | int) -> int:
    """``"1K"`` -> 1024, ``"1M"`` -> 1048576, ``"4096"`` -> 4096 (K = 1024, M = 1024 K)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = _LENGTH.match(str(value))
        if not match:
            raise WorkloadError(f"bad sequence length {value!r}; use an integer or 512, 1K, 4K, ... 1M "
                                "(K = 1024)", source="--seq-len")
        prefix = match.group(2).upper()
        number = int(match.group(1)) * (BINARY_PREFIXES[prefix] if prefix else 1)
    if number < 1:
        raise WorkloadError(f"bad sequence length {value!r}; it must be at least 1", source="--seq-len")
    return number


def parse_seq_lens(values: list[str], source: str = "--seq-lens") -> list[int]:
    """:func:`parse_seq_len` of each value, refusing two spellings of one length (``1K,1024``): the same
    point twice would write the same rows twice."""
    lengths: dict[int, str] = {}
    for value in values:
        try:
            n = parse_seq_len(value)
        except WorkloadError as exc:
            raise WorkloadError(exc.reason, source=source) from None
        if n in lengths:
            raise WorkloadError(f"{lengths[n]!r} and {value!r} are the same length ({n}); give each length once",
                                source=source)
        lengths[n] = str(value)
    return list(lengths)


def format_seq_len(n: int) -> str:
    """The artifact's spelling: 512, 1K, 4K, ... 512K, 1M (plain digits when not a whole K or M)."""
    return spelled(n, [(prefix, BINARY_PREFIXES[prefix]) for prefix in ("K", "M")], "")


@dataclass(frozen=True)
class Workload:
    """One attention layer to evaluate: a model at a sequence length, in a phase, with a batch."""

    model: Model
    seq_len: int
    phase: str = PREFILL
    batch: int = DEFAULT_BATCH
    #: (queries, keys) of one dense rectangle of a masked prefill (:mod:`fusemax.render.mask`); None: the
    #: whole point
    span: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise WorkloadError(f"unknown phase {self.phase!r}; use {' or '.join(PHASES)}", source="--phase")
        if not isinstance(self.seq_len, int) or self.seq_len < 1:
            raise WorkloadError(f"sequence length must be a positive integer, got {self.seq_len!r}",
                                source="--seq-len")
        if not isinstance(self.batch, int) or self.batch < 1:
            raise WorkloadError(f"batch must be a positive integer, got {self.batch!r}", source="--batch")
        # The largest iteration spaces of the layer: attention (B H P M E) and the projections/FFN (B P D S).
        m = self.model
        biggest = max(self.batch * m.H * self.P * self.M * max(m.E, m.F),
                      self.batch * self.P * max(m.D, m.S, m.H * m.E) ** 2)
        if biggest > MAX_COUNT:
            raise WorkloadError(f"{self.label} with batch {self.batch} has Einsums of {biggest:.3g} operations, "
                                f"beyond the 64-bit model (at most 2**63 - 1); use a shorter length or batch",
                                source="--seq-len")

    @property
    def P(self) -> int:
        """Queries: the whole sequence in prefill, one token in decode (a rectangle's own, for a span)."""
        if self.span is not None:
            return self.span[0]
        return self.seq_len if self.phase == PREFILL else 1

    @property
    def M(self) -> int:
        """Keys (context): the sequence length in both phases, except that a decode step under a sliding
        window reads only the window's keys (a rectangle's own, for a span)."""
        if self.span is not None:
            return self.span[1]
        if self.phase == DECODE and self.model.window is not None:
            return min(self.seq_len, self.model.window)
        return self.seq_len

    @property
    def label(self) -> str:
        """``BERT 4K prefill`` -- for messages and file names (a rectangle adds its queries x keys)."""
        span = "" if self.span is None else f" [{self.span[0]} x {self.span[1]}]"
        return f"{self.model.name} {format_seq_len(self.seq_len)} {self.phase}{span}"


@dataclass(frozen=True)
class Hardware:
    """Hardware parameters of the accelerator (defaults: the paper's cloud configuration).

    * ``pe_dim``: the 2D array is pe_dim x pe_dim PEs; ``pe_1d``: PEs of the 1D array (default pe_dim).
    * ``l3_bytes``: on-chip buffer; ``None`` takes the configuration's default (FuseMax binding/arch, the
      cascade and end-to-end: 16 MiB; FLAT and unfused: 32 MiB).
    * ``dram_bandwidth`` (B/s) and ``clock_hz`` are applied when turning cycles and traffic into time;
      ``word_bytes`` is the data width (2 B = 16-bit words).
    * ``pe_reg_depth``, ``row_buffer_depth`` and ``pe_1d_reg_depth`` override the register files (words):
      the registers of each 2D PE, the 2D array's ``reg_file_1d`` row buffer, and the registers of each 1D
      PE. ``None`` keeps the configuration's sizing (see :mod:`fusemax.configs`); the Pareto sweep
      sets them (:func:`fusemax.render.pareto_hardware`).
    """

    pe_dim: int = paper.PE_DIM
    pe_1d: int | None = None
    l3_bytes: int | None = None
    dram_bandwidth: float = paper.DRAM_BANDWIDTH
    clock_hz: float = paper.CLOCK_HZ
    word_bytes: int = paper.WORD_BYTES
    pe_reg_depth: int | None = None
    row_buffer_depth: int | None = None
    pe_1d_reg_depth: int | None = None

    def __post_init__(self) -> None:
        for name in ("pe_dim", "pe_1d", "l3_bytes", "word_bytes", "pe_reg_depth", "row_buffer_depth",
                     "pe_1d_reg_depth"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise WorkloadError(f"{name} must be a positive integer, got {value!r}",
                                    source=f"--{name.replace('_', '-')}")
            if value is not None and value > MAX_COUNT:
                raise WorkloadError(f"{name} = {value} is beyond the 64-bit model (at most 2**63 - 1)",
                                    source=f"--{name.replace('_', '-')}")
        if self.pe_dim ** 2 > MAX_COUNT:
            raise WorkloadError(f"a {self.pe_dim} x {self.pe_dim} array is beyond the 64-bit model", source="--pe-dim")
        for name, unit in (("dram_bandwidth", "B/s"), ("clock_hz", "Hz")):
            value = getattr(self, name)
            # below 1 B/s or 1 Hz a latency overflows to inf (and 0 divides by zero)
            if not (isinstance(value, (int, float)) and 1 <= value < float("inf")):
                raise WorkloadError(f"{name} must be a finite number of at least 1 {unit}, got {value!r}",
                                    source=f"--{name.replace('_', '-')}")

    def summary(self) -> str:
        """The values used, in the units of run.json (bytes, B/s, Hz) and their canonical spellings."""
        l3 = "each configuration's default" if self.l3_bytes is None else \
            f"{self.l3_bytes} B ({format_bytes(self.l3_bytes)})"
        return (f"hardware: {self.pe_dim}x{self.pe_dim} PEs, 1D array {self.pe_1d_count} PEs, L3 {l3}, DRAM "
                f"{self.dram_bandwidth:.10g} B/s ({format_bandwidth(self.dram_bandwidth)}), clock "
                f"{self.clock_hz:.10g} Hz ({format_frequency(self.clock_hz)})")

    @property
    def pe_1d_count(self) -> int:
        """PEs of the 1D array."""
        return self.pe_1d or self.pe_dim

