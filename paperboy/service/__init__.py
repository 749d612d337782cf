"""The service floor: the `Paperboy` facade and the services it builds and owns.

Surfaces (web, CLI, email, MCP) import this package only. Kept light: importing it loads the store
(SQLAlchemy), never the web framework, the index engines or the embedding model.
"""

from paperboy.service.facade import BackupError, BackupResult, Paperboy
from paperboy.store import UNAVAILABLE as DATABASE_DOWN

__all__ = ["Paperboy", "BackupError", "BackupResult", "IndexBusy", "DATABASE_DOWN"]


def __getattr__(name: str):
    # IndexBusy lives in the index layer, imported lazily like the rest of it (tantivy, numpy).
    if name == "IndexBusy":
        from paperboy.index.indexes import IndexBusy

        return IndexBusy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
