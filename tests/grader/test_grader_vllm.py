"""The grader against the real vLLM server: `response_format` json_schema gives valid output first time."""

from __future__ import annotations

import json

import pytest

from grader import EvidenceChecker, Grader
from grader.matching import default_embedder
from models.config import LLMConfig
from models.openai_llm import OpenAILLM
from tests.grader.support import SHORT, SMALL_RUBRIC
from tests.support.vllm import VLLMServer

pytestmark = pytest.mark.vllm


async def test_vllm_grader_output_is_schema_valid(vllm_server: VLLMServer) -> None:
    llm = OpenAILLM(
        LLMConfig(backend="openai", base_url=vllm_server.base_url, model=vllm_server.model, read_timeout_s=120),
        role="grader_llm",
    )
    try:
        grader = Grader(llm, mode="llm", n_ctx=2048, repeat_penalty=1.1, embedder=default_embedder())
        evaluation = await grader.grade(SHORT, SMALL_RUBRIC)
    finally:
        await llm.aclose()
    meta = evaluation.meta
    # two criteria, the goals and the debrief: every request answered with schema-valid JSON at once
    assert meta.llm_calls == 4 and meta.llm_valid_outputs == 4, meta
    assert [r.source for r in evaluation.criteria] == ["llm", "llm"]
    checker = EvidenceChecker(SHORT)
    assert all(checker.check(q).valid for r in evaluation.criteria for q in r.evidence)
    assert not meta.chunked and meta.max_prompt_tokens < 2048
    json.dumps(evaluation.to_dict())
