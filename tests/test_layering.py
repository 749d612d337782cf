"""Data flows one way: a module imports only models/config and the layers to its left (DESIGN.md).

sources -> store -> index -> ranking -> service -> surfaces; surfaces import only the service layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "paperboy"

# Longest prefix wins. Rank 0 is importable from anywhere.
LAYERS = {
    "paperboy.models": 0,
    "paperboy.config": 0,
    "paperboy.sources": 1,
    "paperboy.store": 2,
    "paperboy.index": 3,
    "paperboy.ranking": 4,
    "paperboy.service": 5,
    "paperboy.cli": 6,
    "paperboy.web": 6,
    "paperboy.email": 6,
    "paperboy.mcp": 6,
}
SURFACE = 6


def layer_of(module: str) -> int | None:
    best = None
    for prefix, rank in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, rank)
    return best[1] if best else None


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, prefix: str = "paperboy") -> list[str]:
    """Absolute imports in a file that start with `prefix` ("" for all)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return [m for m in out if m.startswith(prefix)]


def test_every_module_has_a_layer():
    missing = [
        module_name(p)
        for p in PKG.rglob("*.py")
        if module_name(p) != "paperboy" and "migrations" not in p.parts and layer_of(module_name(p)) is None
    ]
    assert missing == []


def test_no_import_points_backwards():
    bad = []
    for path in PKG.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        me = module_name(path)
        mine = layer_of(me)
        if mine is None:
            continue
        for target in imports(path):
            theirs = layer_of(target)
            if theirs is None or theirs == 0:
                continue
            if theirs > mine:
                bad.append(f"{me} (layer {mine}) imports {target} (layer {theirs})")
            elif mine == SURFACE and theirs not in (5, SURFACE):
                bad.append(f"surface {me} imports {target} directly instead of through the service")
    assert bad == []


# Surfaces may use one another only one way: web, the worker and the CLIs send email, so the email
# package is a leaf that imports no other surface (what both need, like the secret key, is in config).
LEAF_SURFACES = ("paperboy.email",)


def test_leaf_surfaces_import_no_other_surface():
    bad = []
    for leaf in LEAF_SURFACES:
        for path in (PKG.parent / leaf.replace(".", "/")).rglob("*.py"):
            for target in imports(path):
                if layer_of(target) == SURFACE and not (target == leaf or target.startswith(leaf + ".")):
                    bad.append(f"{module_name(path)} imports {target}")
    assert bad == []


# Only the store speaks SQL: the floors above it never import SQLAlchemy (they get opaque
# connections from Store.writing()/reading() and pass them to the store's query functions).
NO_SQL_ABOVE_STORE = (
    "paperboy.index",
    "paperboy.ranking",
    "paperboy.service",
    "paperboy.cli",
    "paperboy.email",
    "paperboy.web",
    "paperboy.mcp",
)


def test_only_the_store_imports_sqlalchemy():
    bad = []
    for path in PKG.rglob("*.py"):
        me = module_name(path)
        if me.startswith(NO_SQL_ABOVE_STORE):
            bad += [f"{me} imports {m}" for m in imports(path, "") if m.split(".")[0] in ("sqlalchemy", "alembic")]
    assert bad == []


def test_every_package_is_a_floor():
    """Each package under paperboy/ has its floor in LAYERS, so a new package cannot skip the rules."""
    packages = {f"paperboy.{p.parent.name}" for p in PKG.glob("*/__init__.py")}
    assert sorted(p for p in packages if p not in LAYERS) == []
