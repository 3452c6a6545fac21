"""From workspace records to the engine's plain ConversationConfig (the one place prompts are built)."""

from __future__ import annotations

from pipeline.config import ConversationConfig, Mode
from pipeline.persona_prompt import PersonaSpec, ScenarioSpec, build_persona_prompt, default_examples
from server.store.tables import Contact, Persona, Scenario
from server.workspace.personality import behaviour_lines

LEARNER_ROLE = {
    "sales": "a salesperson who wants your business",
    "customer_success": "your account manager at a vendor your company already uses",
    "support": "a support agent handling your problem",
    "custom": "the person who asked for this conversation",
}
DEFAULT_OPENING = {
    "sales": "{name} speaking. Who is this?",
    "customer_success": "Hi, it's {name}. I was hoping we'd talk before the renewal.",
    "support": "Hi, this is {name}. I've been waiting a while and I really need this fixed.",
    "custom": "Hi, {name} here. Go ahead.",
}


def persona_spec(scenario: Scenario, persona: Persona | None, contact: Contact | None) -> PersonaSpec:
    personality = behaviour_lines(scenario.personality or {})
    if contact is not None:
        return PersonaSpec(
            name=contact.name,
            job_title=contact.title,
            company=contact.company,
            profile_text=contact.notes,
            personality=personality,
        )
    if persona is None:
        raise ValueError("the scenario has no persona")
    return PersonaSpec(
        name=persona.name,
        job_title=persona.job_title,
        company=persona.company,
        background=persona.background,
        motivations=persona.motivations,
        concerns=persona.concerns,
        levers=persona.levers,
        missteps=persona.missteps,
        personality=personality,
        profile_text=persona.profile_text,
    )


def scenario_spec(scenario: Scenario) -> ScenarioSpec:
    brief = scenario.brief or {}
    counterpart = str(brief.get("counterpart") or "").strip()
    return ScenarioSpec(
        learner_role=counterpart or LEARNER_ROLE.get(scenario.type, LEARNER_ROLE["custom"]),
        situation=str(brief.get("goal") or brief.get("situation") or ""),
        tuning=scenario.tuning,
        objections=tuple(str(o) for o in scenario.objections),
        exit_conditions=tuple(str(c) for c in scenario.exit_conditions),
        documents=tuple(d.text for d in scenario.documents if d.text),
        outline=tuple(str(o) for o in scenario.prompt_outline),
    )


def opening_line(scenario: Scenario, spec: PersonaSpec) -> str:
    if scenario.opening_line:
        return scenario.opening_line
    first_name = spec.name.split()[0] if spec.name else "Hello"
    return DEFAULT_OPENING.get(scenario.type, DEFAULT_OPENING["custom"]).format(name=first_name)


def conversation_config(
    scenario: Scenario,
    persona: Persona | None,
    *,
    contact: Contact | None = None,
    conversation_id: str,
    mode: Mode | None = None,
    output_sample_rate: int = 16_000,
) -> ConversationConfig:
    spec = persona_spec(scenario, persona, contact)
    return ConversationConfig(
        system_prompt=build_persona_prompt(spec, scenario_spec(scenario)),
        example_exchanges=default_examples(spec),
        opening_line=opening_line(scenario, spec),
        persona_speaks_first=scenario.persona_speaks_first,
        time_limit_s=float(scenario.time_limit_minutes * 60),
        mode=mode or scenario.mode,  # type: ignore[arg-type]
        output_sample_rate=output_sample_rate,
        conversation_id=conversation_id,
    )
