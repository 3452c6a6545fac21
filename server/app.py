"""FastAPI application factory: database, model backends, live calls, grading, API and web UI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request, Response

from models.registry import Backends, load_backends
from server.api.router import workspace_router
from server.api.routes import artifacts, auth, evaluation, live, oidc, roleplays
from server.grading import GradingService, grading_options, make_queue
from server.live import CallManager
from server.metrics import Metrics
from server.nodes import NodeDirectory
from server.settings import Settings, get_settings
from server.store.db import Database
from server.ui import pages
from server.workspace.attempts import fail_interrupted_attempts
from server.workspace.seed import seed_builtin_personas
from webrtc.ice import IceConfig, IceServer, apply_host_addresses

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, backends: Backends | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database.migrate()
        node = settings.node_name or None
        with database.session() as db:
            seed_builtin_personas(db)
            failed = fail_interrupted_attempts(db, node)
        if failed:
            log.warning("%d attempt(s) were live when this node stopped: marked as errors", failed)
        owned = backends is None
        app.state.backends = backends or await load_backends(settings.models, settings.load_roles)
        restore_host_addresses = apply_host_addresses(settings.webrtc.host_addresses)
        ice = IceConfig(
            servers=tuple(IceServer(tuple(s.urls), s.username, s.credential) for s in settings.webrtc.ice_servers),
            host_addresses=tuple(settings.webrtc.host_addresses),
            relay_only=settings.webrtc.relay_only,
        )
        metrics = Metrics()
        app.state.metrics = metrics
        for role, info in app.state.backends.infos().items():
            metrics.model_loaded.labels(role, info.backend).set(1)
        queue = make_queue(settings, database)
        grading = GradingService(database, queue, app.state.backends.grader_llm, **grading_options(settings))
        app.state.grading = grading
        app.state.calls = CallManager(
            database,
            app.state.backends,
            data_dir=settings.data_dir,
            ice=ice,
            max_live=settings.max_live_sessions,
            node=node,
            on_finished=grading.enqueue,
            metrics=metrics,
            reconnect_grace_s=settings.reconnect_grace_s,
        )
        app.state.nodes = None
        if settings.redis_url and settings.node_url:
            app.state.nodes = NodeDirectory(
                settings.redis_url, app.state.calls.node, settings.node_url, app.state.calls,
                secret_key=settings.secret_key,
            )  # fmt: skip
        workers = settings.grader_workers if settings.grader_workers >= 0 else (0 if settings.redis_url else 1)
        if app.state.backends.grader_llm is None:
            workers = 0
        stop = asyncio.Event()
        worker_tasks = [asyncio.ensure_future(grading.run(stop, f"{node or 'server'}-{i}")) for i in range(workers)]
        if app.state.nodes is not None:
            worker_tasks.append(asyncio.ensure_future(app.state.nodes.run(stop)))
        if settings.purge_interval_s:
            worker_tasks.append(asyncio.ensure_future(_purge_periodically(database, settings, stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*worker_tasks, return_exceptions=True)
            await queue.close()
            if app.state.nodes is not None:
                await app.state.nodes.aclose()
            await app.state.calls.drain(settings.shutdown_drain_s)
            await app.state.calls.close_all()
            if owned:
                await app.state.backends.aclose()
            database.dispose()
            restore_host_addresses()

    app = FastAPI(title="Sparring", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = database
    app.state.nodes = None
    app.state.background = set()  # fire-and-forget tasks (video analysis), kept referenced
    app.include_router(auth.router)
    app.include_router(oidc.router)
    app.include_router(workspace_router)
    app.include_router(roleplays.router)
    app.include_router(artifacts.router)
    app.include_router(evaluation.router)
    app.include_router(live.router)
    app.include_router(live.ice_router)
    app.include_router(live.internal_router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files, name="static")

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def prometheus(request: Request) -> Response:
        metrics: Metrics = request.app.state.metrics
        stats = await request.app.state.grading.queue.stats()
        for state in ("waiting", "in_flight", "delayed", "dead"):
            metrics.queue.labels(state).set(getattr(stats, state))
        for seconds in request.app.state.grading.drain_durations():
            metrics.job_seconds.observe(seconds)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> dict[str, Any]:
        loaded: Backends = request.app.state.backends
        return {
            "status": "ok",
            "profile": settings.profile,
            "backends": {
                role: {"backend": info.backend, "model": info.model, **info.details}
                for role, info in loaded.infos().items()
            },
        }

    return app


async def _purge_periodically(database: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The retention purge, now and then every `purge_interval_s` (a setting change applies at the next run)."""
    from server.purge import purge_expired

    while not stop.is_set():
        try:
            await asyncio.to_thread(purge_expired, database, settings.data_dir)
        except Exception:  # keep serving; the next run tries again
            log.exception("retention purge failed")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.purge_interval_s)
