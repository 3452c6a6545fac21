"""The retention purge: deletes, for real, what each workspace's retention settings say has expired.

Audio, event logs and videos are removed (files and their references) once their attempt ended more
than the configured days ago; transcripts and evaluations too when the workspace sets days for them
(by default they are kept indefinitely). A settings change takes effect at the next purge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from server.store.db import Database
from server.store.tables import Attempt, Evaluation, Workspace
from server.workspace.files import remove_files
from server.workspace.retention import retention_of

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    audio: int = 0
    event_logs: int = 0
    videos: int = 0
    transcripts: int = 0
    evaluations: int = 0
    files: int = 0
    attempts: list[str] = field(default_factory=list)

    def total(self) -> int:
        return self.audio + self.event_logs + self.videos + self.transcripts + self.evaluations


def _before(now: datetime, days: int | None) -> datetime | None:
    return now - timedelta(days=days) if days else None


def purge_expired(db: Database, data_dir: Path, now: datetime | None = None) -> PurgeReport:
    now = now or datetime.now(UTC)
    report = PurgeReport()
    with db.session() as s:
        for workspace in s.scalars(select(Workspace)):
            retention = retention_of(workspace)
            attempts = list(
                s.scalars(select(Attempt).where(Attempt.workspace_id == workspace.id, Attempt.ended_at.is_not(None)))
            )
            for attempt in attempts:
                ended = attempt.ended_at
                assert ended is not None
                ended = ended if ended.tzinfo else ended.replace(tzinfo=UTC)
                touched = False
                for kind, column, days in (
                    ("audio", "recording_path", retention.audio_days),
                    ("event_logs", "event_log_path", retention.event_log_days),
                    ("videos", "video_path", retention.video_days),
                ):
                    cutoff = _before(now, days)
                    stored = getattr(attempt, column)
                    if cutoff is not None and stored and ended < cutoff:
                        extra = [str(Path(stored).with_name("video_analysis.json"))] if kind == "videos" else []
                        report.files += remove_files(data_dir, [stored, *extra])
                        setattr(attempt, column, None)
                        setattr(report, kind, getattr(report, kind) + 1)
                        touched = True
                cutoff = _before(now, retention.transcript_days)
                if cutoff is not None and attempt.transcript and ended < cutoff:
                    attempt.transcript = []
                    attempt.metrics = []
                    report.transcripts += 1
                    touched = True
                cutoff = _before(now, retention.evaluation_days)
                if cutoff is not None and ended < cutoff:
                    gone = s.execute(delete(Evaluation).where(Evaluation.attempt_id == attempt.id))
                    if gone.rowcount:  # type: ignore[attr-defined]
                        report.evaluations += 1
                        touched = True
                if touched:
                    report.attempts.append(attempt.id)
    if report.total():
        log.info(
            "retention purge removed %d audio, %d event logs, %d videos, %d transcripts, %d evaluations (%d files)",
            report.audio, report.event_logs, report.videos, report.transcripts, report.evaluations, report.files,
            extra={"attempts": report.attempts},
        )  # fmt: skip
    return report
