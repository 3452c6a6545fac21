// Create and edit a scenario in six steps: Details, Persona mapping, Personality, Evaluation instructions,
// Instruction/frequency, Participants. Saving creates or patches the scenario, uploads briefing documents and
// invites the chosen participants.
import { api, el } from "/static/api.js";
import { DEFAULT_TEMPLATE, loadPersonalities, loadPersonas } from "/static/app/catalog.js";
import { advancedDetails, bind, detailsFields, evaluationFields, peoplePicker, personaFields, personalityFields } from "/static/app/forms.js";
import { chipsEditor, field, input, notice, pageHeader, textarea, toast, wizard, fill } from "/static/app/ui.js";

function blank(defaults) {
  return {
    id: null, name: "", type: "sales", tuning: "", goals: [], time_limit_minutes: 10, mode: "voice",
    opening_line: "", persona_speaks_first: true, objections: [], exit_conditions: [], tags: [],
    persona_id: "", personality: { ...defaults }, evaluation_template: "sales_discovery", evaluation_instructions: "",
    participant_instructions: "", sessions_per_week: 1, documents: [], removeDocs: [], newFiles: [],
    invite: [], deadline: "", participants: [],
  };
}

function scenarioBody(d) {
  return {
    name: d.name.trim(), type: d.type, tuning: d.tuning, goals: d.goals, time_limit_minutes: Number(d.time_limit_minutes), mode: d.mode,
    opening_line: d.opening_line, persona_speaks_first: Boolean(d.persona_speaks_first), objections: d.objections, exit_conditions: d.exit_conditions,
    tags: d.tags, persona_id: d.persona_id || null, personality: d.personality, evaluation_template: d.evaluation_template,
    evaluation_instructions: d.evaluation_instructions, participant_instructions: d.participant_instructions,
    sessions_per_week: Number(d.sessions_per_week) || 0,
  };
}

export async function render(ctx) {
  const { me, page, params, navigate } = ctx;
  const editing = ctx.variant === "edit";
  const [personas, catalogue, tagCounts, users] = await Promise.all([
    loadPersonas(), loadPersonalities(), api("/api/v1/tags").catch(() => []), api("/api/v1/users").catch(() => []),
  ]);
  const data = blank(catalogue.defaults);
  if (editing) {
    const s = await api(`/api/v1/scenarios/${params.id}`);
    Object.assign(data, {
      id: s.id, name: s.name, type: s.type, tuning: s.tuning, goals: s.goals.map(String), time_limit_minutes: s.time_limit_minutes, mode: s.mode,
      opening_line: s.opening_line, persona_speaks_first: s.persona_speaks_first, objections: s.objections.map(String), exit_conditions: s.exit_conditions.map(String),
      tags: s.tags, persona_id: s.persona_id || "", personality: { ...catalogue.defaults, ...s.personality }, evaluation_template: s.evaluation_template,
      evaluation_instructions: s.evaluation_instructions, participant_instructions: s.participant_instructions, sessions_per_week: s.sessions_per_week,
      documents: s.documents,
    });
    data.participants = await api(`/api/v1/scenarios/${s.id}/participants`).catch(() => []);
  }
  const title = editing ? `Edit ${data.name}` : "New scenario";
  ctx.setTitle(title);
  let tagsEditor = null;
  let picker = null;

  const steps = [
    {
      title: "Details",
      render(c) {
        detailsFields(c, data, { nameLabel: "Scenario name" });
        const typeSelect = c.querySelector("select[name=type]");
        typeSelect.addEventListener("change", () => { if (!editing) data.evaluation_template = DEFAULT_TEMPLATE[data.type] ?? data.evaluation_template; });
        advancedDetails(c, data);
        const more = c.querySelector("details");
        const speaks = bind(el("input", { type: "checkbox", name: "persona_speaks_first", checked: data.persona_speaks_first ? true : undefined }), data, "persona_speaks_first");
        more.append(el("label", { class: "check" }, speaks, "The persona speaks first"));
        tagsEditor = chipsEditor({ value: data.tags, suggestions: tagCounts.map((t) => t.tag), label: "Tags" });
        c.append(tagsEditor.node);
      },
      collect() {
        if (tagsEditor) data.tags = tagsEditor.value;
        if (!data.name.trim()) return "Give the scenario a name.";
        if (!data.goals.length && !data.tuning.trim()) return "Add at least one goal, or describe the situation in the scenario tuning.";
        return "";
      },
    },
    {
      title: "Persona mapping",
      render(c) { personaFields(c, data, personas); },
      collect: () => (data.persona_id ? "" : "Choose a persona."),
    },
    { title: "Personality", render(c) { personalityFields(c, data, catalogue); } },
    {
      title: "Evaluation instructions",
      render(c) { evaluationFields(c, data); },
      collect: () => (!data.evaluation_template && !data.evaluation_instructions.trim() ? "Pick an evaluation template or write evaluation instructions." : ""),
    },
    {
      title: "Instruction/frequency",
      render(c) {
        c.append(
          field("Participant instructions", bind(textarea(data.participant_instructions, { name: "participant_instructions", rows: 4 }), data, "participant_instructions"),
            "What the learner reads in the briefing before the call."),
          field("Expected sessions per week", bind(input(String(data.sessions_per_week), { type: "number", min: 0, max: 50, name: "sessions_per_week" }), data, "sessions_per_week", Number)),
        );
        const docs = el("ul", {});
        const drawDocs = () => fill(docs,
          ...data.documents.filter((d) => !data.removeDocs.includes(d.id)).map((d) => el("li", {}, `${d.name} `,
            el("button", { type: "button", class: "small", text: "Remove", "aria-label": `Remove ${d.name}`, onclick: () => { data.removeDocs.push(d.id); drawDocs(); } }))),
          ...data.newFiles.map((f, i) => el("li", {}, `${f.name} (to upload) `,
            el("button", { type: "button", class: "small", text: "Remove", "aria-label": `Remove ${f.name}`, onclick: () => { data.newFiles.splice(i, 1); drawDocs(); } }))),
        );
        const filePicker = el("input", { type: "file", name: "documents", multiple: true, accept: ".txt,.md,.pdf,text/plain,text/markdown,application/pdf" });
        filePicker.addEventListener("change", () => { data.newFiles.push(...filePicker.files); filePicker.value = ""; drawDocs(); });
        drawDocs();
        c.append(el("fieldset", { class: "fieldset" }, el("legend", { text: "Briefing documents" }),
          el("p", { class: "hint", text: "Text, Markdown or PDF (up to 5 MB). Shown beside the call and known to the persona." }), docs, field("Add documents", filePicker)));
      },
      collect: () => (Number(data.sessions_per_week) < 0 || Number(data.sessions_per_week) > 50 ? "Sessions per week must be between 0 and 50." : ""),
    },
    {
      title: "Participants",
      collect() { if (picker) data.invite = picker.value; return ""; },
      render(c) {
        const already = new Set(data.participants.filter((p) => p.active).map((p) => p.user_id));
        const candidates = users.filter((u) => u.role !== "read_only" && !already.has(u.id));
        if (already.size) c.append(el("p", { class: "muted", text: `Already invited: ${data.participants.filter((p) => p.active).map((p) => p.name || p.email).join(", ")}` }));
        picker = peoplePicker(candidates, data.invite, "Invite people to practise this scenario");
        const box = picker.node;
        c.append(box, field("Deadline (optional)", bind(input(data.deadline, { type: "date", name: "deadline" }), data, "deadline")),
          el("p", { class: "hint", text: "Each person invited gets an assigned practice session in their Roleplay Training." }));
      },
    },
  ];

  const w = wizard({
    steps, data, finishLabel: editing ? "Save changes" : "Create scenario",
    onCancel: () => navigate(data.id ? `/app/scenarios/${data.id}` : "/app/scenarios"),
    async finish() {
      if (tagsEditor) data.tags = tagsEditor.value;
      if (picker) data.invite = picker.value;
      const saved = data.id
        ? await api(`/api/v1/scenarios/${data.id}`, { method: "PATCH", body: scenarioBody(data) })
        : await api("/api/v1/scenarios", { method: "POST", body: scenarioBody(data) });
      data.id = saved.id;
      const problems = [];
      for (const docId of data.removeDocs) {
        try { await api(`/api/v1/scenarios/${saved.id}/documents/${docId}`, { method: "DELETE" }); } catch (error) { problems.push(`removing a document: ${error.message}`); }
      }
      data.removeDocs = [];
      while (data.newFiles.length) {
        const file = data.newFiles[0];
        const form = new FormData();
        form.append("file", file);
        try { await api(`/api/v1/scenarios/${saved.id}/documents`, { method: "POST", form }); } catch (error) { problems.push(`${file.name}: ${error.message}`); }
        data.newFiles.shift();
      }
      if (data.invite.length) {
        const deadline = data.deadline ? new Date(`${data.deadline}T23:59:00`).toISOString() : null;
        try {
          await api(`/api/v1/scenarios/${saved.id}/participants`, { method: "POST", body: { user_ids: data.invite, deadline } });
          data.invite = [];
        } catch (error) {
          const e = new Error(`The scenario was saved, but the participants could not be invited: ${error.message}`);
          e.missing = error.missing;
          throw e;
        }
      }
      if (problems.length) throw new Error(`The scenario was saved, with problems: ${problems.join("; ")}`);
      toast(editing ? "Scenario saved." : `Created "${saved.name}".`);
      navigate(`/app/scenarios/${saved.id}`);
    },
  });
  fill(page,
    pageHeader(title, { crumbs: [["/app/scenarios", "Roleplay Scenarios"]] }),
    me.role === "read_only" ? notice("Read-only users cannot change scenarios.", "error") : null,
    el("section", { class: "card" }, w.node),
  );
  if (editing && ctx.query.get("step")) w.goTo(Math.max(0, Math.min(5, Number(ctx.query.get("step")) - 1)));
  return () => {};
}

