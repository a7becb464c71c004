"""The one exception type users see: it names the file, the key and the reason."""
from __future__ import annotations


class FusemaxError(Exception):
    """A problem with the user's input or environment, reported as one clear line.

    ``source`` is the file (or other origin, such as ``--seq-len``) and ``key`` the YAML key path or
    option that is wrong; both are optional so that errors without a file still read naturally.
    """

    def __init__(self, reason: str, *, source: str | None = None, key: str | None = None):
        self.reason = reason
        self.source = source
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.key) if part)
        return f"{where}: {self.reason}" if where else self.reason


class SpecError(FusemaxError):
    """A Timeloop specification (architecture, problem, mapping, ERT/ART) is malformed."""


class MappingError(FusemaxError):
    """A mapping is well-formed but invalid for the architecture: Timeloop would reject it."""


class WorkloadError(FusemaxError):
    """An unknown model, a bad sequence length or hardware parameter."""


class ToolNotFoundError(FusemaxError):
    """An external tool (timeloop-model, accelergy, ...) is not installed."""
