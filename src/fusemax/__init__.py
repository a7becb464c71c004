"""fusemax: study attention accelerators (FuseMax, FLAT, unfused) with Timeloop-compatible models."""
from fusemax.errors import FusemaxError

__version__ = "0.1.0"
__all__ = ["FusemaxError", "__version__"]
