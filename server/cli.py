"""The `sparring` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, ModelError) as error:
        print(f"sparring: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
