"""Model names: what a name may hold, its one canonical form, and how it is shown on a terminal.

A model name travels into CSV cells, figure file names, figure labels and terminal lines, so it is checked
once, where it enters (a models file, ``--model``/``--models``, the zoo):

* at most :data:`MAX_NAME_LENGTH` characters, so that figure files named after it (``roofline-NAME.png``)
  stay far below the file systems' 255-byte limit;
* printable characters only (no CR/LF, tab, escape sequences or other control and format characters),
  so that CSV rows and terminal lines stay whole;
* not starting with ``=``, ``+``, ``-`` or ``@``, which a spreadsheet would run as a formula when it
  opens a results CSV (names are refused rather than rewritten, so a results CSV holds the name as given);
* not one of the words a CSV reader takes for a missing value (``NA``, ``NaN``, ``null``, ``None``, ...:
  :data:`MISSING_WORDS`), which would read back as no name at all.

Names that differ only by case or punctuation (``A.B``, ``A-B``, ``a_b``) share one :func:`name_key` and
would share a figure file: a run refuses two such models, naming both.
"""
from __future__ import annotations

import re

from fusemax.errors import WorkloadError

#: The longest model name accepted (characters).
MAX_NAME_LENGTH = 100
#: First characters a spreadsheet reads as the start of a formula (tab and CR are refused as control
#: characters anyway).
FORMULA_STARTS = ("=", "+", "-", "@")
#: The cells pandas' ``read_csv`` (which reads every results table) turns into NaN by default.
MISSING_WORDS = frozenset(("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                           "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"))


def check_name(name: str, source: str | None = None, key: str | None = None) -> str:
    """``name`` if it is an acceptable model name, else one :class:`WorkloadError` naming ``source``/``key``
    and the reason (the name shown with :func:`printable`)."""
    if (name and name.isprintable() and len(name) <= MAX_NAME_LENGTH and not name.startswith(FORMULA_STARTS)
            and name not in MISSING_WORDS):
        return name  # the usual case in one test (a models file may hold a million models)
    shown = repr(printable(name[:MAX_NAME_LENGTH]) + ("..." if len(name) > MAX_NAME_LENGTH else ""))
    if not name.strip():
        reason = "a model name must not be empty"
    elif not name.isprintable():
        reason = (f"model name {shown} holds a control character (line break, tab, escape ...); use printable "
                  "characters only")
    elif len(name) > MAX_NAME_LENGTH:
        reason = f"model name {shown} has {len(name)} characters; at most {MAX_NAME_LENGTH} are accepted"
    elif name in MISSING_WORDS:
        reason = f"model name {shown} would read back from a results CSV as a missing value; choose another name"
    else:
        reason = (f"model name {shown} starts with {name[0]!r}, which a spreadsheet would read as a formula; "
                  f"start it with a letter or digit")
    raise WorkloadError(reason, source=source, key=key)


#: What :func:`file_stem` replaces: \W is every character but ``str.isalnum`` ones and ``_`` (which is
#: replaced by itself), and one regex pass is fast enough for a file of a million names.
_NOT_IN_STEM = re.compile(r"\W")


def file_stem(name: str) -> str:
    """``name`` as it appears in file names: every character but letters and digits becomes ``_``."""
    return _NOT_IN_STEM.sub("_", name)


def name_key(name: str) -> str:
    """The canonical form two models may not share: :func:`file_stem`, case-folded (``A.B``, ``a-b`` and
    ``A_B`` are one key, and one figure file on a case-insensitive file system)."""
    return (name if name.isalnum() else file_stem(name)).casefold()  # most names need no regex pass


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: every non-printable character (escape, CR, LF, ...) written as
    its Python escape (``\\x1b``, ``\\r``), everything else unchanged."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
