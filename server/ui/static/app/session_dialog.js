// "New session": Details, Persona mapping, Personality, Evaluation instructions -> Start. The same dialog
// creates a contact's roleplay ("Create Roleplay"), pre-filled from the contact and without persona mapping.
import { api, el } from "/static/api.js";
import { DEFAULT_TEMPLATE, loadPersonalities, loadPersonas } from "/static/app/catalog.js";
import { advancedDetails, bind, detailsFields, evaluationFields, personaFields, personalityFields } from "/static/app/forms.js";
import { field, input, modal, notice, select, wizard, fill } from "/static/app/ui.js";

function deadlineIso(value) {
  if (!value) return null;
  const d = new Date(`${value}T23:59:00`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export async function openSessionDialog({ contact = null, scenarios = [], onCreated }) {
  const [personas, catalogue] = await Promise.all([loadPersonas(), loadPersonalities()]);
  const data = {
    name: contact ? `Roleplay with ${contact.name}` : "",
    scenario_id: "",
    type: "sales", tuning: contact ? [contact.title, contact.company].filter(Boolean).join(" at ") : "", goals: [],
    time_limit_minutes: 10, mode: "voice", opening_line: "", objections: [], exit_conditions: [],
    persona_id: "", profile_text: "", personality: { ...catalogue.defaults },
    evaluation_template: "sales_discovery", evaluation_instructions: "", deadline: "",
  };
  const fromScenario = () => Boolean(data.scenario_id);
  const skipped = (container) => {
    const sc = scenarios.find((s) => s.id === data.scenario_id);
    container.append(notice(`Set by the scenario "${sc ? sc.name : ""}". Press Next, or Back to configure the session here instead.`));
  };
  const steps = [
    {
      title: "Details",
      render(c) {
        c.append(field("Session name", bind(input(data.name, { name: "name", required: true, maxlength: 200 }), data, "name")));
        if (!contact && scenarios.length) {
          const pick = bind(select([["", "Configure it here (the next steps)"], ...scenarios.map((s) => [s.id, s.name])], data.scenario_id, { name: "scenario_id" }), data, "scenario_id");
          const rest = el("div");
          const draw = () => {
            fill(rest, );
            if (!fromScenario()) { detailsFields(rest, data, { withName: false }); advancedDetails(rest, data); }
          };
          pick.addEventListener("change", draw);
          c.append(field("Start from", pick, "Practise a scenario of your workspace, or configure this session yourself."), rest);
          draw();
        } else {
          detailsFields(c, data, { withName: false });
          advancedDetails(c, data);
        }
        const typeSelect = c.querySelector("select[name=type]");
        if (typeSelect) typeSelect.addEventListener("change", () => { data.evaluation_template = DEFAULT_TEMPLATE[data.type] ?? data.evaluation_template; });
        c.append(field("Deadline (optional)", bind(input(data.deadline, { type: "date", name: "deadline" }), data, "deadline")));
      },
      collect: () => (!data.name.trim() ? "Give the session a name." : ""),
    },
    ...(contact ? [] : [{
      title: "Persona mapping",
      render(c) { if (fromScenario()) skipped(c); else personaFields(c, data, personas, { withProfile: true }); },
      collect: () => (!fromScenario() && !data.persona_id ? "Choose a persona." : ""),
    }]),
    {
      title: "Personality",
      render(c) {
        if (fromScenario()) return skipped(c);
        if (contact) c.append(notice(`The persona is ${contact.name}; these settings shape how they behave.`));
        personalityFields(c, data, catalogue);
      },
    },
    {
      title: "Evaluation instructions",
      render(c) { if (fromScenario()) skipped(c); else evaluationFields(c, data); },
      collect: () => (!fromScenario() && !data.evaluation_template && !data.evaluation_instructions.trim() ? "Pick an evaluation template or write evaluation instructions." : ""),
    },
  ];
  const details = () => ({
    scenario_type: data.type, tuning: data.tuning, goals: data.goals, opening_line: data.opening_line,
    objections: data.objections, exit_conditions: data.exit_conditions, time_limit_minutes: Number(data.time_limit_minutes), mode: data.mode,
  });
  const evaluation = () => ({ template: data.evaluation_template, instructions: data.evaluation_instructions });
  modal({
    title: contact ? `Create Roleplay with ${contact.name}` : "New session",
    wide: true,
    build(dialog, close) {
      const w = wizard({
        steps, data, finishLabel: "Start",
        onCancel: () => close(),
        async finish() {
          let session;
          if (contact) {
            session = await api(`/api/v1/contacts/${contact.id}/roleplays`, {
              method: "POST",
              body: { name: data.name, details: details(), personality: data.personality, evaluation: evaluation(), deadline: deadlineIso(data.deadline) },
            });
          } else if (fromScenario()) {
            session = await api("/api/v1/sessions", { method: "POST", body: { name: data.name, scenario_id: data.scenario_id, deadline: deadlineIso(data.deadline) } });
          } else {
            session = await api("/api/v1/sessions", {
              method: "POST",
              body: {
                name: data.name, deadline: deadlineIso(data.deadline),
                config: {
                  details: details(),
                  persona: { persona_id: data.persona_id, profile_text: data.profile_text },
                  personality: data.personality, evaluation: evaluation(),
                },
              },
            });
          }
          close("created");
          onCreated(session);
        },
      });
      dialog.append(w.node);
    },
  });
}
