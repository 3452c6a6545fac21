"""Files that belong to records (attempt recordings, event logs, videos, briefing documents): deleted for real."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from server.store.tables import Attempt, ScenarioDocument

log = logging.getLogger(__name__)


def resolve_in(data_dir: Path, stored: str) -> Path | None:
    """The stored path if it lies inside the data directory. A relative path is taken from the data directory,
    or else from the working directory (how `data_dir / ...` is stored when data_dir itself is relative)."""
    root = data_dir.resolve()
    path = Path(stored)
    candidates = [path.resolve()] if path.is_absolute() else [(root / path).resolve(), path.resolve()]
    inside = [c for c in candidates if c != root and root in c.parents]
    if not inside:
        log.warning("refusing to touch a file outside the data directory", extra={"path": stored})
        return None
    return next((c for c in inside if c.exists()), inside[0])


def attempt_files(attempt: Attempt) -> list[str]:
    return [p for p in (attempt.recording_path, attempt.event_log_path, attempt.video_path) if p]


def document_files(documents: Iterable[ScenarioDocument]) -> list[str]:
    return [d.path for d in documents if d.path]


def remove_files(data_dir: Path, stored_paths: Iterable[str]) -> int:
    """Delete each file, then its folder if that is left empty; returns how many files were removed."""
    removed = 0
    root = data_dir.resolve()
    for stored in stored_paths:
        path = resolve_in(root, stored)
        if path is None:
            continue
        try:
            if path.is_dir():
                for child in sorted(path.rglob("*"), reverse=True):
                    child.rmdir() if child.is_dir() else child.unlink()
                path.rmdir()
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as error:
            log.error("could not delete %s: %s", path, error)
            continue
        parent = path.parent
        while parent != root and root in parent.parents:
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent
    return removed
