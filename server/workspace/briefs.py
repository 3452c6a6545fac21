"""Turn a program's roleplay request (brief + metadata + qscore) into a concrete scenario.

Rule-based on purpose: deterministic, testable and instant, and it does not depend on the size of
the model a deployment runs. The brief really shapes the call: a salary-negotiation brief gives a
recruiter persona who raises salary objections, a renewal brief an unhappy customer, and so on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("salary_negotiation", "renewal", "de_escalation", "objection_handling", "difficult_feedback", "discovery")

# kind -> (scenario type, evaluation template, counterpart role, beats the persona raises)
PLAYBOOK: dict[str, tuple[str, str, str, list[str]]] = {
    "salary_negotiation": (
        "custom", "salary_negotiation", "Talent Acquisition Lead",
        [
            "Present the offer at the lower end of the approved salary band",
            "Ask what salary the candidate expects and why",
            "Push back that the band is fixed by finance",
            "Ask whether the candidate has other offers",
            "Offer something other than base salary only if the candidate makes a strong, evidenced case",
            "Ask for a decision and a start date",
        ],
    ),
    "renewal": (
        "customer_success", "customer_success_renewal", "Head of Operations",
        [
            "Say the product got worse since the last release",
            "Question the price increase at renewal",
            "Ask what will be fixed, by when",
            "Mention you are evaluating a competitor",
            "Ask who will own your account from now on",
        ],
    ),
    "de_escalation": (
        "support", "support_de_escalation", "customer",
        [
            "Describe the problem angrily and say it has happened before",
            "Demand a refund or a manager",
            "Reject the first generic apology",
            "Ask exactly what will happen next and when",
            "Calm down only if you feel heard and get a concrete commitment",
        ],
    ),
    "objection_handling": (
        "sales", "objection_handling", "buyer",
        [
            "Say the price is too high",
            "Say your current solution is good enough",
            "Say now is not the right time",
            "Ask for proof from a customer like you",
            "Agree to a next step only if your concerns were answered",
        ],
    ),
    "difficult_feedback": (
        "custom", "difficult_feedback", "team member",
        [
            "Be surprised by the feedback",
            "Defend your work and give reasons",
            "Ask for specific examples",
            "Ask what you should do differently",
            "Agree to a follow-up only if the feedback was specific and fair",
        ],
    ),
    "discovery": (
        "sales", "sales_discovery", "buyer",
        [
            "Ask who the caller is and why they are calling",
            "Describe your current process only when asked good questions",
            "Mention one real problem if the caller earns it",
            "Ask about price early",
            "Say who else is involved in a decision",
            "Ask what the next step would be",
        ],
    ),
}  # fmt: skip

_KEYWORDS = [
    ("salary_negotiation", r"salar|compensation|offer letter|pay rise|raise|recruit|job offer|negotiat.*offer"),
    ("renewal", r"renew|churn|account review|upsell|customer success|qbr"),
    ("de_escalation", r"angry|complain|refund|escalat|outage|support ticket|frustrat"),
    ("difficult_feedback", r"feedback|performance review|underperform|1:1|one.on.one"),
    ("objection_handling", r"objection|push ?back|too expensive|price is too high"),
    ("discovery", r"discovery|prospect|cold call|demo|sales call|pitch"),
]
_TYPE_DEFAULT = {"sales": "discovery", "customer_success": "renewal", "support": "de_escalation", "custom": "discovery"}


@dataclass
class ShapedScenario:
    kind: str
    name: str
    scenario_type: str
    evaluation_template: str
    counterpart: str
    counterpart_title: str
    company: str
    learner_role: str
    goals: list[str]
    outline: list[str]
    objections: list[str]
    opening_prompt: str
    candidate_brief: str
    difficulty: str
    personality: dict[str, str]
    exit_conditions: list[str]
    qscore_context: dict[str, Any] | None = None
    tuning: str = ""
    brief: dict[str, Any] = field(default_factory=dict)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value if _text(v))
    return " ".join(str(value).split())


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for v in value if (t := _text(v))]
    text = _text(value)
    return [p.strip() for p in re.split(r"[;\n]|(?<=\.)\s", text) if p.strip()] if text else []


def detect_kind(roleplay_type: str, brief: dict[str, Any], metadata: dict[str, Any]) -> str:
    stated = _text(metadata.get("conversation_type")).lower().replace(" ", "_").replace("-", "_")
    if stated in PLAYBOOK:
        return stated
    haystack = " ".join(
        _text(v) for v in [*brief.values(), metadata.get("conversation_type"), metadata.get("target_role")]
    )
    for kind, pattern in _KEYWORDS:
        if re.search(pattern, haystack, re.IGNORECASE):
            return kind
    return _TYPE_DEFAULT.get(roleplay_type, "discovery")


def qscore_context(qscore: dict[str, Any] | None) -> dict[str, Any] | None:
    if not qscore:
        return None
    score = float(qscore["q_score"])
    scale = 100.0 if score > 10 else 10.0
    share = max(0.0, min(1.0, score / scale))
    band = "strong" if share >= 0.75 else "developing" if share >= 0.5 else "emerging"
    focus = _list(qscore.get("weaknesses") or qscore.get("focus_areas") or qscore.get("gaps"))
    return {
        "q_score": score,
        "band": band,
        "difficulty": {"strong": "hard", "developing": "medium", "emerging": "easy"}[band],
        "focus_areas": focus[:5],
        "summary": f"Q-score {score:g}/{scale:g} ({band})" + (f"; practise: {', '.join(focus[:3])}" if focus else ""),
    }


_DIFFICULTY_PERSONALITY = {
    "easy": {"trait": "friendly", "emotional_state": "calm", "communication_style": "talkative"},
    "medium": {"trait": "skeptical", "emotional_state": "calm", "communication_style": "direct"},
    "hard": {"trait": "assertive", "emotional_state": "frustrated", "communication_style": "terse"},
}


def shape(
    *, roleplay_type: str, brief: dict[str, Any], metadata: dict[str, Any], qscore: dict[str, Any] | None,
    persona_name: str, duration_minutes: int,
) -> ShapedScenario:  # fmt: skip
    kind = detect_kind(roleplay_type, brief, metadata)
    scenario_type, template, default_title, beats = PLAYBOOK[kind]
    if roleplay_type in ("sales", "customer_success", "support") and kind != "salary_negotiation":
        scenario_type = roleplay_type
    context = qscore_context(qscore)
    difficulty = _text(metadata.get("difficulty")).lower() or (context["difficulty"] if context else "medium")
    difficulty = difficulty if difficulty in _DIFFICULTY_PERSONALITY else "medium"
    company = _text(metadata.get("company")) or _text(brief.get("company"))
    counterpart = _text(brief.get("counterpart"))
    title = _title_from(counterpart) or default_title
    target_role = _text(metadata.get("target_role"))
    learner_role = {
        "salary_negotiation": f"a candidate for the {target_role or 'open'} role",
        "renewal": "your account manager at a vendor you use",
        "de_escalation": "a support agent handling your problem",
        "difficult_feedback": "your manager, who has feedback for you",
    }.get(kind, f"a {target_role or 'salesperson'} who wants your business")
    objections = _list(brief.get("likely_objections") or brief.get("objections"))
    outline = [f"Raise this objection: {o}" for o in objections[:3]] + beats
    goal = _text(brief.get("goal"))
    stakes = _text(brief.get("stakes"))
    outcome = _text(brief.get("desired_outcome") or brief.get("outcome"))
    goals = [g for g in [goal, outcome] if g] or [f"Handle a {kind.replace('_', ' ')} conversation well"]
    opening = _opening(kind, persona_name, title, company, target_role)
    who = f"{persona_name}, {title}" + (f" at {company}" if company else "")
    lines = [
        f"You are {learner_role.removeprefix('a ').removeprefix('your ')}." if kind == "salary_negotiation" else ""
    ]
    lines += [f"You will talk to {who}."]
    lines += [f"Your goal: {goal}." if goal else "", f"What is at stake: {stakes}." if stakes else ""]
    lines += [f"A good outcome: {outcome}." if outcome else ""]
    if objections:
        lines.append("Expect objections such as: " + "; ".join(objections[:4]) + ".")
    lines.append(f"You have {duration_minutes} minutes.")
    if context and context["focus_areas"]:
        lines.append("Focus on: " + ", ".join(context["focus_areas"][:3]) + ".")
    tuning = " ".join(p for p in [
        f"The call is a {kind.replace('_', ' ')}.",
        f"Stakes for the other person: {stakes}." if stakes else "",
        f"Difficulty: {difficulty}; be {'tough and hard to convince' if difficulty == 'hard' else 'reasonable'}.",
    ] if p)  # fmt: skip
    return ShapedScenario(
        kind=kind,
        name=_text(metadata.get("title")) or f"{kind.replace('_', ' ').capitalize()} with {persona_name}",
        scenario_type=scenario_type,
        evaluation_template=template,
        counterpart=counterpart or f"{title} at {company}" if company else counterpart or title,
        counterpart_title=title,
        company=company,
        learner_role=learner_role,
        goals=goals,
        outline=outline[:8],
        objections=objections,
        opening_prompt=opening,
        candidate_brief=" ".join(line for line in lines if line),
        difficulty=difficulty,
        personality=_DIFFICULTY_PERSONALITY[difficulty],
        exit_conditions=["the other person agrees to a clear next step", "the other person is rude to you twice"],
        qscore_context=context,
        tuning=tuning,
        brief=brief,
    )


def _title_from(counterpart: str) -> str:
    """'a recruiter at Acme making a low offer' -> 'Recruiter'."""
    match = re.match(
        r"(?:an?\s+|the\s+)?(.+?)(?:\s+(?:at|from|of|for|who|making|with)\b.*)?$", counterpart, re.IGNORECASE
    )
    title = match.group(1).strip() if match else ""
    return title[:1].upper() + title[1:] if title and len(title) <= 60 else ""


def _opening(kind: str, name: str, title: str, company: str, target_role: str) -> str:
    first = name.split(maxsplit=1)[0] if name else "Hello"
    at = f" at {company}" if company else ""
    return {
        "salary_negotiation": (
            f"Hi, it's {first}, {title}{at}. Thanks for making time. We'd like to offer you the "
            f"{target_role or 'role'}, and I want to walk you through the numbers."
        ),
        "renewal": f"Hi, {first} here. Honestly, I wasn't sure we'd renew this year. Let's talk.",
        "de_escalation": f"Finally. This is {first}, and I've been trying to get this fixed for days.",
        "difficult_feedback": f"Hi, it's {first}. You said you wanted to talk?",
    }.get(kind, f"{first} speaking{at}. Who is this?")
