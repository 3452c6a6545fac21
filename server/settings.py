"""The one settings class: a profile file (cpu, gpu or a path) overlaid by SPARRING_* variables.

Nested fields use `__`: SPARRING_MODELS__PERSONA_LLM__BASE_URL=http://gpu1:8000/v1.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from models.config import ModelsConfig

PROFILES_DIR = Path(__file__).parent / "profiles"
DEFAULT_SECRET = "dev-insecure-secret-change-me"


class SettingsError(ValueError):
    """Configuration that cannot work (unknown profile, default secret in production)."""


def profile_path(profile: str) -> Path:
    path = PROFILES_DIR / f"{profile}.yaml" if "/" not in profile and not profile.endswith(".yaml") else Path(profile)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise SettingsError(f"unknown profile {profile!r}: no file {path} (built-in profiles: {known})")
    return path


class _ProfileSource(PydanticBaseSettingsSource):
    """Values from the profile YAML; weaker than environment variables and init arguments."""

    def __init__(self, settings_cls: type[BaseSettings], profile: str) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = yaml.safe_load(profile_path(profile).read_text()) or {}
        self._data.setdefault("profile", profile)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class IceServerSettings(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class WebRTCSettings(BaseModel):
    """STUN/TURN servers for browsers behind NAT, and which local addresses this node offers."""

    ice_servers: list[IceServerSettings] = []
    host_addresses: list[str] = []  # empty: every non-loopback interface
    relay_only: bool = False


RoleName = Literal["admin", "member", "read_only"]
_LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


class OIDCSettings(BaseModel):
    """Single sign-on with the enterprise's OpenID Connect identity provider (off while `issuer` is empty).

    Only the issuer is contacted (discovery, keys, token exchange); the browser is sent to its sign-in page.
    """

    issuer: str = ""  # e.g. https://idp.corp.local/realms/staff
    client_id: str = ""
    client_secret: str = ""  # empty: a public client (PKCE only)
    scopes: list[str] = ["openid", "email", "profile"]
    groups_claim: str = "groups"  # an ID token claim holding the user's group names
    role_map: dict[str, RoleName] = {}  # group name -> role; the highest mapped role wins; no mapped group: refused
    workspace: str = "default"  # slug of the workspace SSO users belong to (created on first sign-in)
    # This server's public base URL: the callback is <redirect_base_url>/auth/oidc/callback (register it at the IdP).
    redirect_base_url: str = ""
    ca_file: str = ""  # PEM bundle for an IdP certificate signed by an internal CA
    allow_http: bool = False  # plain http to a non-loopback issuer (a lab setup: the client secret travels in clear)
    algorithms: list[Literal["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]] = ["RS256"]
    timeout_s: float = Field(default=10, gt=0, le=60)

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @model_validator(mode="after")
    def _complete(self) -> OIDCSettings:
        if not self.enabled:
            return self
        missing = [name for name in ("client_id", "redirect_base_url") if not getattr(self, name)]
        if missing:
            raise SettingsError(f"SSO needs oidc {' and '.join(missing)} when oidc.issuer is set")
        for name in ("issuer", "redirect_base_url"):
            url = urlsplit(getattr(self, name))
            if url.scheme not in ("https", "http") or not url.hostname:
                raise SettingsError(f"oidc.{name} must be an absolute http(s) URL")
        issuer = urlsplit(self.issuer)
        if issuer.scheme == "http" and issuer.hostname not in _LOOPBACK_HOSTS and not self.allow_http:
            raise SettingsError("oidc.issuer must use https (set oidc.allow_http only for a lab setup)")
        if "openid" not in self.scopes:
            raise SettingsError("oidc.scopes must include openid")
        if not self.role_map:
            raise SettingsError("oidc.role_map maps no group to a role: nobody could sign in with SSO")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SPARRING_", env_nested_delimiter="__", extra="ignore", protected_namespaces=()
    )

    profile: str = "cpu"
    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
    secret_key: str = DEFAULT_SECRET
    log_level: str = "INFO"
    models: ModelsConfig = ModelsConfig()
    webrtc: WebRTCSettings = WebRTCSettings()
    oidc: OIDCSettings = OIDCSettings()
    # Measured on the embedded CPU models: one call per 2 cores keeps voice-to-voice p95 under 1.5 s
    # (benchmarks/results/load.json); GPU nodes set their own figure (deploy/).
    max_live_sessions: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2),
        ge=0,
        description="live calls this node accepts at once",
    )
    node_name: str = ""
    # With Redis: the URL other nodes reach this one at (e.g. http://10.0.0.5:8000). Set, this node joins
    # the node directory; a call that finds it full is handed to a node with room.
    node_url: str = ""
    shutdown_drain_s: float = Field(default=0, ge=0, description="on shutdown, wait this long for live calls to end")
    reconnect_grace_s: float = Field(default=10.0, ge=0, description="how long a dropped call waits for its client")
    # Grading workers inside the server process: -1 = one when there is no Redis (the database queue),
    # none with Redis (run `sparring worker` processes instead).
    grader_workers: int = Field(default=-1, ge=-1, le=16)
    purge_interval_s: float = Field(default=3600, ge=0, description="retention purge period; 0: never in-process")
    # Which backends this process loads; a grader worker needs only grader_llm.
    load_roles: tuple[str, ...] = ("vad", "asr", "persona_llm", "grader_llm", "tts", "turn")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        profile = os.environ.get("SPARRING_PROFILE", "cpu")
        return (init_settings, env_settings, _ProfileSource(settings_cls, profile), file_secret_settings)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET:
            raise SettingsError(
                f"SPARRING_SECRET_KEY is left at its default; set a long random value ({self.environment} environment)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'sparring.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
