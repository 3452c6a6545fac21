"""JSON schemas that force the grader model's output, and a validator for the same keyword subset.

Only keywords that both llama.cpp's grammar conversion and vLLM's structured outputs honour are
used: type, properties, required, additionalProperties, enum, items, maxItems, maxLength.
llama.cpp ignores integer minimum/maximum, so numbers that must lie in a set (scores, turn numbers)
are enums. Every string and array is bounded: a small model under a grammar otherwise writes until
max_tokens and the JSON never closes. The output is validated again here, because a server that
ignores `response_format` must not get unchecked text into an evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

JSON = dict[str, Any]


def string(max_length: int) -> JSON:
    return {"type": "string", "maxLength": max_length}


def array(items: JSON, max_items: int) -> JSON:
    return {"type": "array", "items": items, "maxItems": max_items}


def obj(properties: dict[str, JSON]) -> JSON:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def enum(values: Sequence[Any]) -> JSON:
    return {"enum": list(values)}


def quotes(turns: Sequence[int], *, max_items: int = 2, max_length: int = 100) -> JSON:
    return array(obj({"turn": enum(turns), "quote": string(max_length)}), max_items)


def criterion_schema(kind: str, turns: Sequence[int]) -> JSON:
    """One criterion scored directly by the model (llm mode).

    Properties generate in order: quotes, then the reasoning, then the verdict, so the verdict is
    conditioned on the evidence the model has just written rather than the other way round.
    """
    verdict = enum([1, 2, 3, 4, 5]) if kind == "scale" else {"type": "boolean"}
    return obj({"evidence": quotes(turns), "rationale": string(160), "score" if kind == "scale" else "passed": verdict})


def goals_schema(names: Sequence[str], turns: Sequence[int]) -> JSON:
    return obj({name: obj({"evidence": quotes(turns, max_items=1), "achieved": {"type": "boolean"}}) for name in names})


def segment_notes_schema(criteria: Sequence[str], turns: Sequence[int]) -> JSON:
    """Per-segment notes for long transcripts: the best line for each criterion, or none."""
    note = obj({"found": {"type": "boolean"}, "turn": enum(turns), "quote": string(100), "note": string(80)})
    return obj({name: note for name in criteria})


def debrief_schema(strengths: Sequence[str], gaps: Sequence[str], moments: Sequence[int], lines: Sequence[str]) -> JSON:
    """The debrief worded from facts: each entry names the fact or turn it words, from a closed list."""
    properties: dict[str, JSON] = {}
    if strengths:
        properties["what_worked"] = array(obj({"fact": enum(strengths), "text": string(120)}), 3)
    if gaps:
        properties["what_was_missing"] = array(obj({"fact": enum(gaps), "text": string(120)}), 3)
    if moments:
        properties["key_moments"] = array(obj({"turn": enum(moments), "note": string(100)}), 2)
    if lines:
        properties["better_lines"] = array(obj({"line": enum(lines), "better": string(140)}), 3)
    return obj(properties)


def max_output_tokens(schema: JSON) -> int:
    """A generous token budget for the largest output the schema allows.

    JSON runs about 3.7 characters a token; 2.5 leaves room for the digit runs a small model writes
    when it is lost. An output that still hits the limit fails validation and is retried or replaced.
    """
    return max(64, int(_max_chars(schema) / 2.5) + 16)


def _max_chars(schema: JSON) -> int:
    if "enum" in schema:
        return max(len(json.dumps(v)) for v in schema["enum"]) + 2
    kind = schema.get("type")
    if kind == "string":
        return int(schema.get("maxLength", 200)) + 4
    if kind == "array":
        return 4 + int(schema.get("maxItems", 4)) * (_max_chars(schema["items"]) + 2)
    if kind == "object":
        return 4 + sum(len(k) + 6 + _max_chars(v) for k, v in schema.get("properties", {}).items())
    return 8


def validate(instance: Any, schema: JSON, path: str = "$") -> list[str]:
    """Errors of `instance` against `schema` (the keyword subset above); empty when valid."""
    if "enum" in schema:
        ok = any(instance == v and type(instance) is type(v) for v in schema["enum"])
        return [] if ok else [f"{path}: {instance!r} not in {schema['enum']}"]
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind in checks and not checks[kind](instance):
        return [f"{path}: expected {kind}"]
    errors: list[str] = []
    if kind == "string" and len(instance) > schema.get("maxLength", len(instance)):
        errors.append(f"{path}: longer than {schema['maxLength']}")
    if kind in ("integer", "number"):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{path}: above {schema['maximum']}")
    if kind == "array":
        if len(instance) > schema.get("maxItems", len(instance)):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(instance):
            errors.extend(validate(item, schema.get("items", {}), f"{path}[{i}]"))
    if kind == "object":
        properties = schema.get("properties", {})
        errors.extend(f"{path}: missing {key}" for key in schema.get("required", []) if key not in instance)
        if schema.get("additionalProperties") is False:
            errors.extend(f"{path}: unexpected {key}" for key in instance if key not in properties)
        for key, value in instance.items():
            if key in properties:
                errors.extend(validate(value, properties[key], f"{path}.{key}"))
    return errors


def parse(text: str, schema: JSON) -> tuple[JSON | None, str]:
    """(the parsed object, "") when `text` is JSON valid against `schema`, else (None, the reason).

    Raw control characters inside strings are accepted (`strict=False`): llama.cpp's schema grammar
    lets a newline into a string, which changes no structure, and the strings are checked anyway.
    """
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        return None, f"not JSON ({error.msg} at {error.pos} of {len(text)} characters)"
    errors = validate(data, schema)
    if errors:
        return None, "; ".join(errors[:3])
    return data, ""
