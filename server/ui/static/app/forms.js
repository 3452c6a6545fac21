// Form steps shared by the "New session" dialog, the contact roleplay and the six-step scenario editor.
// Every control writes into the wizard's `data` object as the person types, so Back/Next keep what was entered.
import { el } from "/static/api.js";
import { MODES, PERSONALITY_LABELS, SCENARIO_TYPES, TEMPLATES, TIME_LIMITS } from "/static/app/catalog.js";
import { field, humanize, input, nextId, select, textarea, fill } from "/static/app/ui.js";

export function bind(control, data, key, transform = (v) => v) {
  const update = () => { data[key] = transform(control.type === "checkbox" ? control.checked : control.value); };
  control.addEventListener("input", update);
  control.addEventListener("change", update);
  return control;
}

export const bindLines = (control, data, key) => bind(control, data, key, (v) => String(v).split("\n").map((s) => s.trim()).filter(Boolean));

export function detailsFields(container, data, { withName = true, nameLabel = "Name" } = {}) {
  if (withName) container.append(field(nameLabel, bind(input(data.name, { name: "name", required: true, maxlength: 200 }), data, "name")));
  container.append(
    el("div", { class: "grid two" },
      field("Scenario type", bind(select(SCENARIO_TYPES, data.type, { name: "type" }), data, "type")),
      field("Time limit", bind(select(TIME_LIMITS, data.time_limit_minutes, { name: "time_limit_minutes" }), data, "time_limit_minutes", Number)),
    ),
    field("Scenario tuning", bind(textarea(data.tuning, { name: "tuning", rows: 3, maxlength: 20000 }), data, "tuning"),
      "Tone, questions the persona should raise, product knowledge."),
    field("Goals (one per line)", bindLines(textarea((data.goals || []).join("\n"), { name: "goals", rows: 3 }), data, "goals"),
      "Shown to the learner before and during the call."),
    field("Practice by", bind(select(MODES, data.mode, { name: "mode" }), data, "mode")),
  );
}

export function advancedDetails(container, data) {
  const more = el("details", { class: "fieldset" }, el("summary", { text: "Opening line, objections and exit conditions (optional)" }));
  more.append(
    field("Opening line", bind(input(data.opening_line, { name: "opening_line", maxlength: 500 }), data, "opening_line"), "What the persona says first."),
    field("Likely objections (one per line)", bindLines(textarea((data.objections || []).join("\n"), { name: "objections" }), data, "objections")),
    field("Exit conditions (one per line)", bindLines(textarea((data.exit_conditions || []).join("\n"), { name: "exit_conditions" }), data, "exit_conditions"),
      "When the persona ends the call, e.g. the learner agrees a next meeting."),
  );
  container.append(more);
}

/** Persona mapping: ecosystem, then vertical, then persona; with a summary of the chosen persona. */
export function personaFields(container, data, personas, { withProfile = false } = {}) {
  const ecosystems = [...new Set(personas.map((p) => p.ecosystem).filter(Boolean))].sort();
  const eco = select([["", "All ecosystems"], ...ecosystems.map((e) => [e, e])], data.ecosystem || "", { name: "ecosystem" });
  const vert = el("select", { name: "vertical" });
  const who = el("select", { name: "persona_id" });
  const card = el("div", { class: "persona-card", "aria-live": "polite" });
  const drawVerticals = () => {
    const verticals = [...new Set(personas.filter((p) => !eco.value || p.ecosystem === eco.value).map((p) => p.vertical).filter(Boolean))].sort();
    fill(vert, el("option", { value: "", text: "All verticals" }), ...verticals.map((v) => el("option", { value: v, text: v })));
    if (verticals.includes(data.vertical)) vert.value = data.vertical;
  };
  const drawPersonas = () => {
    const list = personas.filter((p) => (!eco.value || p.ecosystem === eco.value) && (!vert.value || p.vertical === vert.value));
    fill(who, el("option", { value: "", text: "Choose a persona" }), ...list.map((p) =>
      el("option", { value: p.id, text: `${p.name}${p.job_title ? `, ${p.job_title}` : ""}${p.company ? ` (${p.company})` : ""}` })));
    if (list.some((p) => p.id === data.persona_id)) who.value = data.persona_id;
    else if (list.length === 1) who.value = list[0].id;
    data.persona_id = who.value;
    drawCard();
  };
  const drawCard = () => {
    const p = personas.find((x) => x.id === who.value);
    card.hidden = !p;
    if (!p) return;
    fill(card,
      el("strong", { text: p.name }), el("div", { class: "muted", text: [p.job_title, p.company, p.vertical].filter(Boolean).join(" · ") }),
      p.background ? el("p", { text: p.background }) : null,
      p.concerns ? el("p", {}, el("strong", { text: "Concerns: " }), p.concerns) : null,
      p.voice ? el("p", { class: "small muted", text: `Voice: ${p.voice}` }) : null,
    );
  };
  eco.addEventListener("change", () => { data.ecosystem = eco.value; drawVerticals(); drawPersonas(); });
  vert.addEventListener("change", () => { data.vertical = vert.value; drawPersonas(); });
  who.addEventListener("change", () => { data.persona_id = who.value; drawCard(); });
  drawVerticals();
  drawPersonas();
  container.append(el("div", { class: "grid two" }, field("Ecosystem", eco), field("Vertical", vert)), field("Persona", who), card);
  if (withProfile) {
    container.append(field("Profile text (optional)", bind(textarea(data.profile_text, { name: "profile_text", rows: 4, maxlength: 20000 }), data, "profile_text"),
      "Paste what you know about a real person to ground the persona. Nothing is fetched from the internet."));
  }
}

/** The five personality settings, each option with what it does to the persona. */
export function personalityFields(container, data, catalogue) {
  data.personality = { ...catalogue.defaults, ...(data.personality || {}) };
  for (const [setting, options] of Object.entries(catalogue.settings)) {
    const name = nextId(setting);
    const box = el("fieldset", { class: "fieldset" }, el("legend", { text: PERSONALITY_LABELS[setting] || humanize(setting) }));
    const grid = el("div", { class: "options" });
    for (const option of options) {
      const radio = el("input", { type: "radio", name, value: option.value, checked: data.personality[setting] === option.value ? true : undefined });
      radio.addEventListener("change", () => { if (radio.checked) data.personality[setting] = option.value; });
      grid.append(el("label", { class: "option" }, radio, el("span", {}, el("strong", { text: humanize(option.value) }), el("span", { class: "desc", text: option.description }))));
    }
    box.append(grid);
    container.append(box);
  }
}

export function evaluationFields(container, data) {
  container.append(
    field("Evaluation template", bind(select([["", "No template (instructions only)"], ...TEMPLATES], data.evaluation_template, { name: "evaluation_template" }), data, "evaluation_template"),
      "The rubric the grader scores against."),
    field("Evaluation instructions", bind(textarea(data.evaluation_instructions, { name: "evaluation_instructions", rows: 5, maxlength: 20000 }), data, "evaluation_instructions"),
      "What good looks like in this conversation; added to the template's criteria."),
  );
}

/** Checkboxes, one per person: returns { node, value (ids) }. */
export function peoplePicker(candidates, selected = [], legend = "People") {
  const chosen = new Set(selected);
  const box = el("fieldset", { class: "fieldset" }, el("legend", { text: legend }));
  if (!candidates.length) box.append(el("p", { class: "muted", text: "Nobody else to invite." }));
  const grid = el("div", { class: "options" });
  for (const u of candidates) {
    const id = nextId("person");
    const cb = el("input", { type: "checkbox", id, value: u.id, checked: chosen.has(u.id) ? true : undefined });
    cb.addEventListener("change", () => { if (cb.checked) chosen.add(u.id); else chosen.delete(u.id); });
    grid.append(el("label", { class: "option", for: id }, cb, el("span", {}, el("strong", { text: u.name || u.email }), el("span", { class: "desc", text: u.email }))));
  }
  box.append(grid);
  return { node: box, get value() { return [...chosen]; } };
}
