"""The service floor: the `Paperboy` facade and the services it builds and owns.

Surfaces (web, CLI, email, MCP) import this package only. Kept light: its names are imported on first
use, so `paperboy.service.warmup` can start work before the store (SQLAlchemy) loads; importing the
facade never loads the web framework, the index engines or the embedding model.
"""

import importlib

__all__ = ["Paperboy", "BackupError", "BackupResult", "IndexBusy", "DATABASE_DOWN"]

# name -> (module, attribute); IndexBusy lives in the index layer, imported lazily like the rest of it.
_LAZY = {
    "Paperboy": ("paperboy.service.facade", "Paperboy"),
    "BackupError": ("paperboy.service.facade", "BackupError"),
    "BackupResult": ("paperboy.service.facade", "BackupResult"),
    "DATABASE_DOWN": ("paperboy.store", "UNAVAILABLE"),
    "IndexBusy": ("paperboy.index.indexes", "IndexBusy"),
}


def __getattr__(name: str):
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(spec[0]), spec[1])
