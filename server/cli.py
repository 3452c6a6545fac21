"""The `sparring` command line."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any

from pydantic import ValidationError

from models.errors import ModelError
from models.locator import resolve, size_bytes
from server.settings import Settings, SettingsError


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "profile", None):
        os.environ["SPARRING_PROFILE"] = args.profile
    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port or settings.port
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows: list[tuple[str, str, str, str]] = []
    missing = 0
    for role in ("vad", "asr", "persona_llm", "grader_llm", "tts"):
        config = getattr(settings.models, role)
        if getattr(config, "backend", "") == "openai":
            rows.append(
                (role, config.backend, config.base_url + (f" ({config.model})" if config.model else ""), "remote")
            )
            continue
        try:
            path = resolve(config.model, what=f"{role} model")
            rows.append((role, config.backend, str(path), f"{size_bytes(path) / 1e6:.1f} MB"))
        except ModelError as error:
            missing += 1
            rows.append((role, config.backend, f"MISSING: {error}", "-"))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"profile: {settings.profile}")
    for role, backend, model, size in rows:
        print(f"{role:<{width[0]}}  {backend:<{width[1]}}  {model:<{width[2]}}  {size}")
    if missing:
        print(f"error: {missing} model(s) missing", file=sys.stderr)
        return 1
    return 0


def _database(settings: Settings) -> Any:
    from server.store.db import Database

    database = Database(settings.resolved_database_url)
    database.migrate()
    return database


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _database(settings)
    print(f"database at the latest schema: {settings.resolved_database_url}")
    return 0


def cmd_admin_create(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from server.security import hash_password
    from server.store.tables import User, Workspace

    settings = _settings(args)
    password = args.password or os.environ.get("SPARRING_ADMIN_PASSWORD") or getpass.getpass("password: ")
    if len(password) < 8:
        print("sparring: error: the password needs at least 8 characters", file=sys.stderr)
        return 2
    email = args.email.strip().lower()
    with _database(settings).session() as db:
        workspace = db.scalar(select(Workspace).where(Workspace.slug == args.workspace))
        if workspace is None:
            workspace = Workspace(slug=args.workspace, name=args.workspace_name or args.workspace)
            db.add(workspace)
            db.flush()
        user = db.scalar(select(User).where(User.workspace_id == workspace.id, User.email == email))
        if user is None:
            user = User(workspace_id=workspace.id, email=email, name=args.name or email.split("@")[0], role="admin")
            db.add(user)
        user.role = "admin"
        user.password_hash = hash_password(password)
        user.active = True
    print(f"admin {email} ready in workspace {args.workspace}")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from server.security import new_api_key
    from server.store.tables import ApiKey, User, Workspace

    settings = _settings(args)
    with _database(settings).session() as db:
        user = db.scalar(
            select(User)
            .join(Workspace)
            .where(User.email == args.email.strip().lower(), Workspace.slug == args.workspace)
        )
        if user is None:
            print(f"sparring: error: no user {args.email} in workspace {args.workspace}", file=sys.stderr)
            return 2
        key, prefix, key_hash = new_api_key()
        db.add(
            ApiKey(workspace_id=user.workspace_id, user_id=user.id, name=args.name, prefix=prefix, key_hash=key_hash)
        )
    print(key)
    print("store this key now: it is shown only once", file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """A grading worker: consumes grading jobs (Redis Streams with REDIS_URL, else the database queue)."""
    import asyncio
    import signal

    from models.registry import load_backends
    from server.grading import GradingService, grading_options, make_queue

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = _database(settings)

    async def work() -> None:
        backends = await load_backends(settings.models, ("grader_llm",))
        queue = make_queue(settings, database)
        service = GradingService(database, queue, backends.grader_llm, **grading_options(settings))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"grading worker {args.name or ''} ready ({'redis' if settings.redis_url else 'database'} queue)",
            flush=True,
        )
        try:
            await service.run(stop, args.name or None)
        finally:
            await queue.close()
            await backends.aclose()

    asyncio.run(work())
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from server.purge import purge_expired

    settings = _settings(args)
    report = purge_expired(_database(settings), settings.data_dir)
    print(
        f"purged {report.audio} audio, {report.event_logs} event logs, {report.videos} videos, "
        f"{report.transcripts} transcripts, {report.evaluations} evaluations ({report.files} files)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparring", description="Self-hosted voice roleplay practice.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the web server")
    serve.add_argument("--profile", help="cpu, gpu or a profile YAML path (default: $SPARRING_PROFILE or cpu)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    models = sub.add_parser("models", help="list the configured model backends and their files")
    models.add_argument("--profile")
    models.set_defaults(func=cmd_models)

    worker = sub.add_parser("worker", help="run a grading worker (scale these on the queue's backlog)")
    worker.add_argument("--profile")
    worker.add_argument("--name", help="consumer name (default: host-pid)")
    worker.set_defaults(func=cmd_worker)

    purge = sub.add_parser("purge", help="delete what the workspaces' retention settings say has expired")
    purge.add_argument("--profile")
    purge.set_defaults(func=cmd_purge)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("--profile")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("admin", help="manage administrators").add_subparsers(dest="admin_command", required=True)
    create = admin.add_parser("create", help="create (or reset) an admin, and its workspace if new")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $SPARRING_ADMIN_PASSWORD or a prompt")
    create.add_argument("--name")
    create.add_argument("--workspace", default="default", help="workspace slug (default: default)")
    create.add_argument("--workspace-name")
    create.add_argument("--profile")
    create.set_defaults(func=cmd_admin_create)

    apikey = sub.add_parser("apikey", help="manage API keys").add_subparsers(dest="apikey_command", required=True)
    key_create = apikey.add_parser("create", help="create an API key for a user (printed once)")
    key_create.add_argument("--email", required=True)
    key_create.add_argument("--name", default="cli")
    key_create.add_argument("--workspace", default="default")
    key_create.add_argument("--profile")
    key_create.set_defaults(func=cmd_apikey_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, ModelError, ValidationError) as error:
        print(f"sparring: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
