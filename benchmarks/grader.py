"""Grader calibration benchmark: does the grader rank strong > medium > weak, validly and stably?

    python -m benchmarks.grader --json benchmarks/results/grader.json [--runs 3] [--modes hybrid,llm]
    python -m benchmarks.grader --llm-url http://127.0.0.1:8001/v1 [--llm-model NAME] --json out.json
    python -m benchmarks.grader --calibrate      # sweep the checklist-matching threshold

The calibration set (benchmarks/calibration/*.yaml) holds transcripts for 4 scenarios in a strong,
a medium and a weak version; each file names the criteria it misses on purpose. Timings are
synthesised from word counts (learner 150 wpm, persona 165 wpm, short gaps; an interrupted persona
turn overlaps the learner's next one). Each mode grades every transcript `--runs` times and the
benchmark reports: valid-JSON rate of the model's outputs, evidence-quote validity rate, score
stability across runs, Spearman rank agreement between overall scores and the intended order
(pooled and per scenario), pairwise order accuracy, and seconds per evaluation. A PNG is written
beside the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import machine, summary, table, write_json
from grader import Grader, TranscriptTurn, default_embedder, load_template
from grader.analytics import words
from grader.matching import DEFAULT_THRESHOLD, ChecklistMatcher
from grader.records import Evaluation, Mode, Speaker
from models.base import LLM
from models.config import LLMConfig

CALIBRATION_DIR = Path(__file__).parent / "calibration"
LEVELS = {"weak": 1, "medium": 2, "strong": 3}
LEARNER_WPS = 150 / 60
PERSONA_WPS = 165 / 60


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str  # the template it is graded with
    level: str
    split: str  # "calibration" (used to set the threshold) or "holdout" (never used for tuning)
    misses: tuple[str, ...]
    instructions: str
    turns: tuple[TranscriptTurn, ...]


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text())
    turns: list[TranscriptTurn] = []
    for number, entry in enumerate(data["turns"], start=1):
        speaker: Speaker = "learner" if "learner" in entry else "persona"
        text = str(entry[speaker])
        previous = turns[-1] if turns else None
        if previous is None:
            start = 0.5
        elif previous.interrupted:
            start = previous.end - 0.3  # the learner barged in: playout stopped once their speech registered
        else:
            start = previous.end + float(entry.get("pause", 0.8 if speaker == "learner" else 0.6))
        duration = len(words(text)) / (LEARNER_WPS if speaker == "learner" else PERSONA_WPS)
        turns.append(
            TranscriptTurn(
                number,
                speaker,
                text,
                round(start, 2),
                round(start + duration, 2),
                bool(entry.get("interrupted", False)),
            )
        )
    return Case(
        path.stem,
        data["template"],
        data["level"],
        str(data.get("split", "calibration")),
        tuple(data.get("misses") or ()),
        str(data.get("instructions", "")),
        tuple(turns),
    )


def load_cases(directory: Path = CALIBRATION_DIR) -> list[Case]:
    return [load_case(p) for p in sorted(directory.glob("*.yaml"))]


def rank(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: list[float], y: list[float]) -> float | None:
    rx, ry = rank(x), rank(y)
    if len(x) < 2 or statistics.pstdev(rx) == 0 or statistics.pstdev(ry) == 0:
        return None
    return statistics.correlation(rx, ry)


def agreement(cases: list[Case], overall: dict[str, float]) -> dict[str, Any]:
    levels = [float(LEVELS[c.level]) for c in cases]
    scores = [overall[c.name] for c in cases]
    per_scenario: dict[str, float | None] = {}
    pairs = correct = 0
    for scenario in sorted({c.scenario for c in cases}):
        group = [c for c in cases if c.scenario == scenario]
        per_scenario[scenario] = spearman([float(LEVELS[c.level]) for c in group], [overall[c.name] for c in group])
        for a in group:
            for b in group:
                if LEVELS[a.level] > LEVELS[b.level]:
                    pairs += 1
                    correct += overall[a.name] > overall[b.name]
    rhos = [r for r in per_scenario.values() if r is not None]
    return {
        "spearman_pooled": spearman(levels, scores),
        "spearman_per_scenario": per_scenario,
        "spearman_per_scenario_mean": statistics.fmean(rhos) if rhos else None,
        "pair_order_accuracy": correct / pairs if pairs else None,
    }


async def grade_all(grader: Grader, cases: list[Case], runs: int) -> list[list[Evaluation]]:
    results: list[list[Evaluation]] = []
    for run in range(runs):
        evaluations = []
        for case in cases:
            evaluation = await grader.grade(case.turns, load_template(case.scenario), instructions=case.instructions)
            evaluations.append(evaluation)
            print(
                f"  {grader.mode} run {run + 1} {case.name}: {evaluation.overall:5.1f} "
                f"({evaluation.meta.elapsed_s:.1f} s)",
                flush=True,
            )
        results.append(evaluations)
    return results


def collect(mode: str, cases: list[Case], runs: list[list[Evaluation]]) -> dict[str, Any]:
    flat = [e for run in runs for e in run]
    calls = sum(e.meta.llm_calls for e in flat)
    valid = sum(e.meta.llm_valid_outputs for e in flat)
    proposed = sum(e.meta.quotes_proposed for e in flat)
    dropped = sum(e.meta.quotes_dropped for e in flat)
    overall_runs = [[e.overall for e in run] for run in runs]
    per_case = {c.name: [run[i] for run in overall_runs] for i, c in enumerate(cases)}
    criteria_runs = [[[r.score for r in e.criteria] for e in run] for run in runs]
    identical = [
        len({tuple(criteria_runs[r][i][k] for r in range(len(runs)))}) == 1
        for i in range(len(cases))
        for k in range(len(criteria_runs[0][i]))
    ]
    mean_overall = {name: statistics.fmean(values) for name, values in per_case.items()}
    holdout = [c for c in cases if c.split == "holdout"]
    worded = [e.debrief.worded_by for e in flat]
    return {
        "mode": mode,
        "evaluations": len(flat),
        "valid_json_rate": valid / calls if calls else None,
        "llm_calls_per_evaluation": calls / len(flat),
        "evidence_validity_rate": (proposed - dropped) / proposed if proposed else None,
        "quotes_proposed": proposed,
        "stability": {
            "overall_stdev_mean": statistics.fmean(statistics.pstdev(v) for v in per_case.values()),
            "overall_range_max": max(max(v) - min(v) for v in per_case.values()),
            "criterion_scores_identical_share": sum(identical) / len(identical),
        },
        **agreement(cases, mean_overall),
        "calibration_split": agreement([c for c in cases if c.split != "holdout"], mean_overall),
        "holdout_split": agreement(holdout, mean_overall) if holdout else None,
        "seconds_per_evaluation": summary([e.meta.elapsed_s for e in flat]),
        "debrief_worded_by": {k: worded.count(k) for k in ("llm", "mixed", "facts")},
        "chunked": sum(e.meta.chunked for e in flat),
        "overall_by_case": {
            c.name: {"level": c.level, "scenario": c.scenario, "split": c.split, "runs": per_case[c.name]}
            for c in cases
        },
    }


def calibrate(cases: list[Case]) -> dict[str, Any]:
    """Sweep the matching threshold: how well does "any checklist item met" separate the criteria a
    transcript covers from those it misses on purpose (balanced accuracy)? Held-out cases are left out."""
    cases = [c for c in cases if c.split != "holdout"]
    matcher = ChecklistMatcher(default_embedder(), threshold=0.0)
    rows: list[tuple[float, bool]] = []  # (best similarity of the criterion's items, criterion covered)
    for case in cases:
        rubric = load_template(case.scenario)
        matches = matcher.match(rubric, case.turns)
        for criterion in rubric.criteria:
            top = max((h.similarity or 0.0) for h in matches.criteria[criterion.name]) if criterion.checklist else 0.0
            rows.append((top, criterion.name not in case.misses))
    sweep = []
    for step in range(30, 81):
        threshold = step / 100
        tp = sum(s >= threshold and covered for s, covered in rows)
        tn = sum(s < threshold and not covered for s, covered in rows)
        positives = sum(covered for _, covered in rows)
        negatives = len(rows) - positives
        sweep.append({"threshold": threshold, "balanced_accuracy": (tp / positives + tn / negatives) / 2})
    best = max(sweep, key=lambda r: (r["balanced_accuracy"], -abs(r["threshold"] - DEFAULT_THRESHOLD)))
    return {"criteria": len(rows), "best": best, "default": DEFAULT_THRESHOLD, "sweep": sweep}


def build_llm(args: argparse.Namespace) -> LLM:
    from models.registry import build_llm as build

    if args.llm_url:
        return build(
            LLMConfig(backend="openai", base_url=args.llm_url, model=args.llm_model, read_timeout_s=300.0),
            threads=1,
            role="grader_llm",
        )
    from server.settings import Settings

    config = Settings().models.grader_llm
    return build(config, threads=config.threads or os.cpu_count() or 1, role="grader_llm")


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = results["modes"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), width_ratios=[3, 2])
    colors = {"strong": "tab:green", "medium": "tab:orange", "weak": "tab:red"}
    scenarios = sorted({c["scenario"] for m in modes.values() for c in m["overall_by_case"].values()})
    for m_index, (mode, data) in enumerate(modes.items()):
        for case in data["overall_by_case"].values():
            x = scenarios.index(case["scenario"]) + (m_index - (len(modes) - 1) / 2) * 0.3
            marker = "o" if mode == "hybrid" else "s"
            ax1.scatter([x] * len(case["runs"]), case["runs"], color=colors[case["level"]], marker=marker, alpha=0.7)
    ax1.set_xticks(range(len(scenarios)), [s.replace("_", "\n") for s in scenarios], fontsize=8)
    ax1.set_ylabel("overall score (0-100)")
    ax1.set_ylim(-5, 105)
    ax1.set_title(
        "Overall score by intended level (o hybrid, s llm-only; green strong, orange medium, red weak)", fontsize=9
    )
    metrics = ["valid_json_rate", "evidence_validity_rate", "spearman_pooled", "pair_order_accuracy"]
    width = 0.8 / max(1, len(modes))
    for m_index, (mode, data) in enumerate(modes.items()):
        values = [data[k] if data[k] is not None else 0.0 for k in metrics]
        ax2.bar([i + m_index * width for i in range(len(metrics))], values, width, label=mode)
    ax2.set_xticks(
        [i + width * (len(modes) - 1) / 2 for i in range(len(metrics))],
        ["valid JSON", "valid quotes", "Spearman", "pair order"],
        fontsize=8,
    )
    ax2.set_ylim(-1, 1.05)
    ax2.axhline(0, color="black", linewidth=0.5)
    ax2.legend()
    ax2.set_title(f"{Path(results['model']).name} ({results['backend']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cases = load_cases()
    results: dict[str, Any] = {"machine": machine(), "cases": len(cases), "runs": args.runs}
    if args.calibrate:
        results["calibration"] = calibrate(cases)
        return results
    llm = build_llm(args)
    results["model"] = llm.info.model
    results["backend"] = llm.info.backend
    results["threshold"] = DEFAULT_THRESHOLD
    results["modes"] = {}
    started = time.time()
    for mode_name in args.modes.split(","):
        mode: Mode = "llm" if mode_name == "llm" else "hybrid"
        # llm mode measures the model alone: no checklist scores stand in for its invalid answers.
        grader = Grader(llm, mode=mode, n_ctx=args.n_ctx, checklist_fallback=False)
        runs = await grade_all(grader, cases, args.runs)
        results["modes"][mode] = collect(mode, cases, runs)
    results["wall_s"] = round(time.time() - started, 1)
    aclose = getattr(llm, "aclose", None)
    if aclose is not None:
        await aclose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write results here (a PNG is written beside it)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="hybrid,llm")
    parser.add_argument("--llm-url", help="an OpenAI-compatible server (vLLM) instead of the embedded model")
    parser.add_argument("--llm-model", default="", help="served model name (default: the first listed)")
    parser.add_argument("--n-ctx", type=int, default=2048, help="the grader model's context window")
    parser.add_argument("--calibrate", action="store_true", help="sweep the matching threshold and stop")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = asyncio.run(run(args))
    if args.calibrate:
        calibration = results["calibration"]
        rows = [[r["threshold"], r["balanced_accuracy"]] for r in calibration["sweep"]]
        print(table(rows, ["threshold", "balanced accuracy"]))
        print(f"best: {calibration['best']} (default {calibration['default']})")
    else:
        rows = []
        for mode, data in results["modes"].items():
            stability = data["stability"]
            rows.append(
                [
                    mode,
                    data["valid_json_rate"],
                    data["evidence_validity_rate"],
                    stability["overall_stdev_mean"],
                    data["spearman_pooled"],
                    data["spearman_per_scenario_mean"],
                    data["pair_order_accuracy"],
                    data["seconds_per_evaluation"]["p50"],
                ]
            )
        header = [
            "mode",
            "valid JSON",
            "valid quotes",
            "overall sd",
            "Spearman",
            "rho/scenario",
            "pair order",
            "s/eval",
        ]
        print(table(rows, header))
    if args.json:
        write_json(args.json, results)
        if not args.calibrate:
            plot(results, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
