"""Artifacts of a session: presigned (HMAC, expiring, single-artifact) download URLs, and video upload.

A signed URL needs no API key, so it can be handed to a browser or another system; it names one
artifact of one attempt and stops working at expiry or after any change to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from server.api.access import can_follow_session
from server.api.deps import DB, Member, Reader
from server.security import sign, unsign
from server.store.tables import Attempt, PracticeSession

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["artifacts"])

ArtifactType = Literal["session_audio", "session_video", "transcript", "event_log"]
DOWNLOAD_TTL_S = 15 * 60
UPLOAD_TTL_S = 30 * 60
MAX_VIDEO_BYTES = 500 * 1024 * 1024
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML header: every WebM file starts with it
CONTENT_TYPES = {
    "session_audio": "audio/wav",
    "session_video": "video/webm",
    "transcript": "application/json",
    "event_log": "application/x-ndjson",
}


class SignedUrl(BaseModel):
    url: str
    artifact_type: str
    attempt_id: str
    content_type: str
    expires_at: datetime


class UploadUrl(BaseModel):
    upload_url: str
    method: Literal["PUT"] = "PUT"
    content_type: Literal["video/webm"] = "video/webm"
    max_bytes: int = MAX_VIDEO_BYTES
    attempt_id: str
    expires_at: datetime


class VideoStatus(BaseModel):
    attempt_id: str
    status: Literal["missing", "uploaded", "analysing", "analysed", "error"]
    analysis: dict[str, Any] | None = None


def _session(db: DB, principal: Reader, session_id: str) -> PracticeSession:
    session = db.get(PracticeSession, session_id)
    if session is None or session.workspace_id != principal.workspace_id or not can_follow_session(session, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    return session


def _attempt(session: PracticeSession, attempt_id: str | None) -> Attempt:
    attempts = [a for a in session.attempts if attempt_id in (None, a.id)]
    started = [a for a in attempts if a.started_at is not None or a.state != "initializing"]
    if not started:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this session has no attempt with artifacts yet")
    return started[-1]


def _path_of(attempt: Attempt, artifact: str) -> str | None:
    return {"session_audio": attempt.recording_path, "session_video": attempt.video_path,
            "event_log": attempt.event_log_path}.get(artifact)  # fmt: skip


@router.get("/artifacts/{session_id}/{artifact_type}", response_model=SignedUrl)
def artifact_url(
    session_id: str, artifact_type: ArtifactType, principal: Reader, db: DB, request: Request,
    attempt_id: str | None = None,
) -> SignedUrl:  # fmt: skip
    """A presigned download URL for one artifact of the session's latest (or a given) attempt."""
    session = _session(db, principal, session_id)
    attempt = _attempt(session, attempt_id)
    if artifact_type != "transcript":
        stored = _path_of(attempt, artifact_type)
        if not stored or not Path(stored).exists():
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"this attempt has no {artifact_type} (not recorded, or purged)"
            )
    secret = request.app.state.settings.secret_key
    payload = {"w": session.workspace_id, "a": attempt.id, "t": artifact_type}
    token = sign(secret, payload, ttl_s=DOWNLOAD_TTL_S, purpose="artifact")
    base = str(request.base_url).rstrip("/")
    return SignedUrl(
        url=f"{base}/api/v1/artifacts/download?token={token}", artifact_type=artifact_type, attempt_id=attempt.id,
        content_type=CONTENT_TYPES[artifact_type], expires_at=datetime.now(UTC) + timedelta(seconds=DOWNLOAD_TTL_S),
    )  # fmt: skip


@router.get("/artifacts/download", response_model=None)
def download(token: str, request: Request, db: DB) -> Response:
    """The artifact a signed URL names (no API key needed; 403 once expired or tampered with)."""
    payload = unsign(request.app.state.settings.secret_key, token, purpose="artifact")
    if payload is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this link is invalid or has expired; ask for a new one")
    attempt = db.get(Attempt, str(payload.get("a")))
    if attempt is None or attempt.workspace_id != payload.get("w"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this artifact no longer exists")
    artifact = str(payload.get("t"))
    if artifact == "transcript":
        body = {"attempt_id": attempt.id, "session_id": attempt.session_id, "turns": attempt.transcript}
        return JSONResponse(
            body, headers={"Content-Disposition": f'attachment; filename="transcript-{attempt.id}.json"'}
        )
    stored = _path_of(attempt, artifact)
    if not stored or not Path(stored).exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this artifact no longer exists (purged by retention?)")
    filename = f"{artifact}-{attempt.id}{Path(stored).suffix}"
    return FileResponse(stored, media_type=CONTENT_TYPES[artifact], filename=filename)


# ------------------------------------------------------------------ video upload


@router.post("/sessions/{session_id}/video/upload-url", response_model=UploadUrl)
def video_upload_url(
    session_id: str, principal: Member, db: DB, request: Request, attempt_id: str | None = None
) -> UploadUrl:
    """A presigned URL to PUT a `video/webm` recording of the session's latest attempt."""
    session = _session(db, principal, session_id)
    attempt = _attempt(session, attempt_id)
    token = sign(request.app.state.settings.secret_key, {"w": session.workspace_id, "a": attempt.id},
                 ttl_s=UPLOAD_TTL_S, purpose="video-upload")  # fmt: skip
    base = str(request.base_url).rstrip("/")
    return UploadUrl(
        upload_url=f"{base}/api/v1/uploads/video?token={token}", attempt_id=attempt.id,
        expires_at=datetime.now(UTC) + timedelta(seconds=UPLOAD_TTL_S),
    )  # fmt: skip


@router.put("/uploads/video", status_code=201)
async def upload_video(request: Request, token: str = Query(max_length=2000)) -> dict[str, Any]:
    """Receives the video the signed URL allows: WebM only, at most MAX_VIDEO_BYTES, streamed to disk."""
    settings = request.app.state.settings
    payload = unsign(settings.secret_key, token, purpose="video-upload")
    if payload is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this upload link is invalid or has expired")
    if request.headers.get("content-type", "").split(";")[0].strip() != "video/webm":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "the recording must be sent as video/webm")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_VIDEO_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"videos are limited to {MAX_VIDEO_BYTES} bytes")
    target = Path(settings.data_dir) / "artifacts" / str(payload["w"]) / str(payload["a"]) / "video.webm"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    size = 0
    first = b""
    with partial.open("wb") as out:
        async for chunk in request.stream():
            if len(first) < 4:
                first += chunk[: 4 - len(first)]
            size += len(chunk)
            if size > MAX_VIDEO_BYTES:
                out.close()
                partial.unlink(missing_ok=True)
                raise HTTPException(
                    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"videos are limited to {MAX_VIDEO_BYTES} bytes"
                )
            out.write(chunk)
    if first != WEBM_MAGIC:
        partial.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "the file is not a WebM video")
    partial.replace(target)
    return {"attempt_id": payload["a"], "bytes": size}


@router.post("/sessions/{session_id}/video/uploaded", response_model=VideoStatus, status_code=202)
async def video_uploaded(
    session_id: str, principal: Member, db: DB, request: Request, attempt_id: str | None = None
) -> VideoStatus:
    """Confirms the upload and starts its analysis in the background (duration, audio transcribed and
    aligned with the session transcript)."""
    session = _session(db, principal, session_id)
    attempt = _attempt(session, attempt_id)
    video = Path(request.app.state.settings.data_dir) / "artifacts" / session.workspace_id / attempt.id / "video.webm"
    if not video.exists():
        raise HTTPException(status.HTTP_409_CONFLICT, "no video has been uploaded for this attempt yet")
    attempt.video_path = str(video)
    db.flush()
    analysis = video.with_name("video_analysis.json")
    analysis.write_text(json.dumps({"status": "analysing"}))
    from server.video import analyse_video

    task = asyncio.ensure_future(
        analyse_video(request.app.state.db, request.app.state.backends, attempt.id, video, analysis)
    )
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)
    return VideoStatus(attempt_id=attempt.id, status="analysing")


@router.get("/sessions/{session_id}/video", response_model=VideoStatus)
def video_status(
    session_id: str, principal: Reader, db: DB, request: Request, attempt_id: str | None = None
) -> VideoStatus:
    session = _session(db, principal, session_id)
    attempt = _attempt(session, attempt_id)
    if not attempt.video_path:
        return VideoStatus(attempt_id=attempt.id, status="missing")
    analysis = Path(attempt.video_path).with_name("video_analysis.json")
    if not analysis.exists():
        return VideoStatus(attempt_id=attempt.id, status="uploaded")
    data = json.loads(analysis.read_text())
    return VideoStatus(attempt_id=attempt.id, status=data.get("status", "analysed"), analysis=data)
