"""The grader: a transcript and a rubric in, an evidence-checked `Evaluation` out.

Two modes share everything but who decides the scores:
- "hybrid" (the CPU default): checklist items are matched to learner sentences with sentence
  embeddings and scores follow from coverage; the exact analytics decide the signals; the model
  only words the debrief. A 135M model is near-random as a judge, so it never sets a score here.
- "llm" (a capable model, e.g. on vLLM): the model scores each criterion and goal directly, with the
  checklist matches as hints, under the same evidence rule.
Every model call is forced to a JSON schema at temperature 0 and validated again on arrival.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader import prompts
from grader.analytics import ConversationAnalytics, compute_analytics
from grader.debrief import assemble, build_facts
from grader.errors import GraderError, TranscriptError
from grader.evidence import EvidenceChecker, drop_flags, normalise
from grader.guard import screen
from grader.matching import DEFAULT_THRESHOLD, ChecklistMatcher, Embedder, Matches, default_embedder
from grader.records import (
    ChecklistHit,
    CriterionResult,
    Debrief,
    Evaluation,
    EvaluationMeta,
    GoalResult,
    Mode,
    Quote,
    TranscriptTurn,
)
from grader.rubric import Criterion, Goal, Rubric
from grader.schema import JSON, criterion_schema, debrief_schema, goals_schema, max_output_tokens, parse
from grader.scoring import coverage_result, goal_from_match, model_result, overall_score, signal_hits
from grader.segments import LongTranscriptReader
from models.base import LLM, ChatMessage, GenerationOptions, complete

log = logging.getLogger(__name__)

MIN_OUTPUT_TOKENS = 48


class ModelCalls:
    """The model calls of one evaluation: schema-forced, validated, counted, kept inside the context."""

    def __init__(self, llm: LLM, n_ctx: int, meta: EvaluationMeta, *, repeat_penalty: float) -> None:
        self._llm = llm
        self._n_ctx = n_ctx
        self._meta = meta
        self._repeat_penalty = repeat_penalty
        self._context_id = f"grader-{uuid.uuid4().hex[:12]}"  # one warm prompt prefix per evaluation

    def room(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens left for the output after this prompt."""
        return self._n_ctx - prompts.prompt_tokens(messages)

    async def json(self, messages: Sequence[ChatMessage], schema: JSON) -> JSON | None:
        """The parsed, schema-valid reply, or None when the model failed twice (the caller falls back)."""
        room = self.room(messages)
        if room < MIN_OUTPUT_TOKENS:
            raise GraderError(f"grader prompt of ~{prompts.prompt_tokens(messages)} tokens leaves no room in n_ctx")
        self._meta.max_prompt_tokens = max(self._meta.max_prompt_tokens, prompts.prompt_tokens(messages))
        # Temperature 0 first; a second identical request would give the identical broken text, so the
        # retry samples a little.
        for attempt, temperature in enumerate((0.0, 0.2)):
            options = GenerationOptions(
                max_tokens=min(max_output_tokens(schema), room),
                temperature=temperature,
                top_p=1.0,
                repeat_penalty=self._repeat_penalty,
                json_schema=schema,
                seed=attempt,
            )
            text = await complete(self._llm, messages, options, context_id=self._context_id)
            self._meta.llm_calls += 1
            log.debug("grader model output: %r", text[:4000])
            data, problem = parse(text, schema)
            if data is not None:
                self._meta.llm_valid_outputs += 1
                return data
            log.warning("grader output rejected (attempt %d): %s", attempt + 1, problem)
        return None


@dataclass
class _Context:
    """What one grading works from."""

    rubric: Rubric
    turns: tuple[TranscriptTurn, ...]  # as the model may see them (injections masked)
    checker: EvidenceChecker
    analytics: ConversationAnalytics
    hits: dict[str, list[ChecklistHit]]
    matches: Matches
    meta: EvaluationMeta

    def checked(self, quotes: Sequence[Quote]) -> tuple[list[Quote], list[str]]:
        quotes = [q for q in quotes if normalise(q.text)]  # an empty string is no quote, not a bad one
        kept, dropped = self.checker.filter(quotes)
        self.meta.quotes_proposed += len(quotes)
        self.meta.quotes_dropped += len(dropped)
        return kept, drop_flags(dropped)


class Grader:
    def __init__(
        self,
        llm: LLM,
        *,
        mode: Mode = "hybrid",
        n_ctx: int = 2048,
        embedder: Embedder | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        repeat_penalty: float = 1.1,
        checklist_fallback: bool = True,
    ) -> None:
        if mode not in ("hybrid", "llm"):
            raise GraderError(f"grader mode must be hybrid or llm, not {mode!r}")
        self.llm = llm
        self.mode: Mode = mode
        # A backend that knows its own context (llama.cpp) caps what the caller configured.
        served = llm.info.details.get("n_ctx") if llm.info.details else None
        self.n_ctx = min(n_ctx, int(served)) if isinstance(served, int) else n_ctx
        self.matcher = ChecklistMatcher(embedder or default_embedder(), threshold=threshold)
        # A little repetition penalty keeps a small model from looping inside a JSON string; the grammar
        # still forces the structure.
        self.repeat_penalty = repeat_penalty
        # llm mode, when the model's answer is invalid twice: score from the checklist (True), or give the
        # lowest score (False: how the calibration benchmark measures the model alone).
        self.checklist_fallback = checklist_fallback

    async def grade(
        self,
        transcript: Sequence[TranscriptTurn | Mapping[str, Any]],
        rubric: Rubric,
        *,
        goals: Sequence[str | Goal | Mapping[str, Any]] = (),
        instructions: str = "",
    ) -> Evaluation:
        started = time.perf_counter()
        turns = prepare_turns(transcript)
        rubric = rubric.with_scenario(instructions=instructions, goals=goals)
        screened = screen(turns)
        analytics = compute_analytics(turns)
        meta = EvaluationMeta(
            mode=self.mode,
            model=self.llm.info.model,
            rubric=rubric.name,
            rubric_version=rubric.version,
            n_ctx=self.n_ctx,
            injection_turns=sorted(screened.flagged),
            threshold=self.matcher.threshold,
        )
        if screened.flagged:
            log.warning("learner lines addressed to the grader were masked", extra={"turns": meta.injection_turns})
        matches = await asyncio.to_thread(self.matcher.match, rubric, screened.evidence_turns)
        hits = {c.name: [*matches.criteria[c.name], *signal_hits(c, analytics)] for c in rubric.criteria}
        context = _Context(
            rubric, screened.prompt_turns, EvidenceChecker(screened.evidence_turns), analytics, hits, matches, meta
        )
        calls = ModelCalls(self.llm, self.n_ctx, meta, repeat_penalty=self.repeat_penalty)
        if self.mode == "hybrid":
            criteria = [coverage_result(c, hits[c.name]) for c in rubric.criteria]
            goal_results = [goal_from_match(m) for m in matches.goals]
            for result in criteria:  # by construction these pass; checked anyway, so nothing unchecked is shown
                result.evidence, flags = context.checked(result.evidence)
                result.flags += flags
        else:
            criteria, goal_results = await self._model_scores(context, calls)
        debrief, meta.debrief_fallbacks = await self._debrief(context, calls, criteria, goal_results)
        meta.elapsed_s = round(time.perf_counter() - started, 3)
        return Evaluation(overall_score(criteria), criteria, goal_results, debrief, analytics, meta)

    async def _debrief(
        self,
        context: _Context,
        calls: ModelCalls,
        criteria: list[CriterionResult],
        goals: list[GoalResult],
    ) -> tuple[Debrief, int]:
        """Facts from the results; the model words them in one schema-forced call that never sees the
        transcript, so it fits any context however long the call was."""
        evidence_turns = context.checker.turns
        facts = await asyncio.to_thread(
            build_facts, context.rubric, criteria, goals, context.analytics, evidence_turns, self._similarity
        )
        sections = facts.sections(context.analytics)
        schema = debrief_schema(
            [f.id for f in facts.strengths],
            [f.id for f in facts.gaps],
            sorted(facts.moments),
            [w.id for w in facts.lines],
        )
        messages = prompts.debrief_messages(context.rubric, sections)
        while calls.room(messages) < max_output_tokens(schema) and any(lines for _, lines in sections):
            sections = _trimmed(sections)  # a small context: drop the least important fact lines
            messages = prompts.debrief_messages(context.rubric, sections)
        data = None
        if schema["properties"] and calls.room(messages) >= MIN_OUTPUT_TOKENS:
            data = await calls.json(messages, schema)
        elif schema["properties"]:
            log.warning("debrief facts do not fit the grader context; worded from facts", extra={"n_ctx": self.n_ctx})
        texts = {t.number: t.text for t in evidence_turns}
        # The wording gate embeds text: inference stays off the event loop.
        return await asyncio.to_thread(assemble, facts, data, self._similarity, texts)

    def _similarity(self, a: str, b: str) -> float:
        vectors = self.matcher.embedder.encode([a, b])
        return float(vectors[0] @ vectors[1])

    async def _model_scores(
        self, context: _Context, calls: ModelCalls
    ) -> tuple[list[CriterionResult], list[GoalResult]]:
        """llm mode: the model scores every criterion of the rubric (never fewer), then the goals."""
        rubric = context.rubric
        head = prompts.header(rubric, context.analytics.facts())
        requests = [prompts.criterion_request(c, _hints(context.hits[c.name])) for c in rubric.criteria]
        numbers = [t.number for t in context.turns]
        schemas = [criterion_schema(c.kind, numbers) for c in rubric.criteria]
        system = prompts.system_with_transcript(head, context.turns)
        biggest = max(
            prompts.prompt_tokens([system, r]) + max_output_tokens(s) for r, s in zip(requests, schemas, strict=True)
        )
        if biggest > self.n_ctx:
            reader = LongTranscriptReader(calls, self.n_ctx, context.checker, context.meta)
            notes = await reader.notes(head, context.turns, rubric.criteria)
            system = reader.reduced_system(head, notes, requests, schemas)
        results = []
        for criterion, request, schema in zip(rubric.criteria, requests, schemas, strict=True):
            data = await calls.json([system, request], schema)
            hits = context.hits[criterion.name]
            if data is None:
                fallback = coverage_result(criterion, hits) if self.checklist_fallback else _lowest(criterion, hits)
                fallback.flags.append("model_output_invalid")
                results.append(fallback)
                continue
            quotes = [Quote(e["turn"], e["quote"]) for e in data["evidence"]]
            kept, flags = context.checked(quotes)
            verdict = float(data["score"]) if criterion.kind == "scale" else float(bool(data["passed"]))
            results.append(model_result(criterion, verdict, data["rationale"], kept, flags, hits))
        return results, await self._model_goals(context, calls, system)

    async def _model_goals(self, context: _Context, calls: ModelCalls, system: ChatMessage) -> list[GoalResult]:
        matches = context.matches.goals
        if not matches:
            return []
        names = [m.goal.name for m in matches]
        hints = [
            f"- {m.goal.name}: " + (f'turn {m.unit.turn}: "{m.unit.text}"' if m.met and m.unit else "not found")
            for m in matches
        ]
        schema = goals_schema(names, [t.number for t in context.turns])
        data = await calls.json([system, prompts.goals_request([m.goal for m in matches], hints)], schema)
        results = []
        for match in matches:
            if data is None:
                result = goal_from_match(match)
                if not self.checklist_fallback:
                    result.achieved, result.evidence = False, []
                result.flags.append("model_output_invalid")
                results.append(result)
                continue
            entry = data[match.goal.name]
            kept, flags = context.checked([Quote(e["turn"], e["quote"]) for e in entry["evidence"]])
            achieved = bool(entry["achieved"])
            if achieved and not kept:
                achieved, flags = False, [*flags, "achieved_without_evidence"]
            results.append(GoalResult(match.goal.name, match.goal.description, achieved, kept, flags, match.similarity))
        return results


def _lowest(criterion: Criterion, hits: Sequence[ChecklistHit]) -> CriterionResult:
    return model_result(criterion, 1.0 if criterion.kind == "scale" else 0.0, "No valid model output.", [], [], hits)


def _hints(hits: Sequence[ChecklistHit]) -> list[str]:
    lines = []
    for hit in hits:
        if hit.fact is not None:
            lines.append(f"- {hit.item}: {'met' if hit.met else 'not met'} ({hit.fact})")
        elif hit.met:
            lines.append(f'- {hit.item}: turn {hit.turn}: "{hit.quote}"')
        else:
            lines.append(f"- {hit.item}: not found")
    return lines


def _trimmed(sections: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Drop the last line of the last non-empty section."""
    result = [(title, list(lines)) for title, lines in sections]
    for _title, lines in reversed(result):
        if lines:
            lines.pop()
            break
    return result


def prepare_turns(transcript: Sequence[TranscriptTurn | Mapping[str, Any]]) -> list[TranscriptTurn]:
    turns = [t if isinstance(t, TranscriptTurn) else TranscriptTurn.from_dict(t) for t in transcript]
    turns.sort(key=lambda t: t.number)
    numbers = [t.number for t in turns]
    if len(set(numbers)) != len(numbers):
        raise TranscriptError("turn numbers repeat")
    if not any(t.speaker == "learner" and t.text.strip() for t in turns):
        raise TranscriptError("the transcript has no learner speech to grade")
    for turn in turns:
        if turn.end < turn.start:
            raise TranscriptError(f"turn {turn.number} ends before it starts")
    return turns
