// A scenario: Overview (its setup and whether it is valid), Participants (invite, remove with confirm),
// Participation history (each person's sessions and attempts, drilling into an attempt), Problems (flags).
import { api, el } from "/static/api.js";
import { PERSONALITY_LABELS, templateLabel, typeLabel } from "/static/app/catalog.js";
import { peoplePicker } from "/static/app/forms.js";
import { deleteScenario, duplicateScenario, testSession } from "/static/app/scenarios.js";
import {
  attemptBadge, confirmDialog, dataTable, errorNotice, field, fmtDate, fmtDateTime, fmtScore, humanize, input, link, notice, pageHeader, sessionBadge, tabs, toast, fill } from "/static/app/ui.js";

const list = (items) => (items && items.length ? el("ul", {}, items.map((x) => el("li", { text: typeof x === "string" ? x : x.description || x.name || JSON.stringify(x) }))) : el("span", { class: "muted", text: "-" }));

export async function render(ctx) {
  const { me, page, params, navigate, query } = ctx;
  const scenario = await api(`/api/v1/scenarios/${params.id}`);
  ctx.setTitle(scenario.name);
  const canEdit = me.role !== "read_only";
  const canManage = me.role === "admin" || scenario.created_by === me.id;
  const messages = el("div", { "aria-live": "polite" });

  const overview = (panel) => {
    panel.append(
      scenario.valid ? notice("This scenario is ready: people can practise it.", "ok")
        : el("div", { class: "notice error", role: "alert" }, "This scenario needs more setup before anyone can practise it:", el("ul", { class: "missing" }, scenario.missing.map((m) => el("li", { text: m.message })))),
      el("dl", { class: "facts" },
        el("dt", { text: "Type" }), el("dd", { text: typeLabel(scenario.type) }),
        el("dt", { text: "Persona" }), el("dd", { text: scenario.persona_name || "-" }),
        el("dt", { text: "Personality" }), el("dd", { text: Object.entries(scenario.personality || {}).map(([k, v]) => `${PERSONALITY_LABELS[k] || humanize(k)}: ${humanize(v)}`).join("; ") || "Default settings" }),
        el("dt", { text: "Scenario tuning" }), el("dd", { text: scenario.tuning || "-" }),
        el("dt", { text: "Goals" }), el("dd", {}, list(scenario.goals)),
        el("dt", { text: "Opening line" }), el("dd", { text: scenario.opening_line || "-" }),
        el("dt", { text: "Likely objections" }), el("dd", {}, list(scenario.objections)),
        el("dt", { text: "Exit conditions" }), el("dd", {}, list(scenario.exit_conditions)),
        el("dt", { text: "Time limit" }), el("dd", { text: `${scenario.time_limit_minutes} minutes` }),
        el("dt", { text: "Practice by" }), el("dd", { text: scenario.mode === "hybrid" ? "Voice or chat (learner picks)" : scenario.mode === "text" ? "Chat" : "Voice" }),
        el("dt", { text: "Evaluation" }), el("dd", { text: `${templateLabel(scenario.evaluation_template)}${scenario.evaluation_instructions ? `. ${scenario.evaluation_instructions}` : ""}` }),
        el("dt", { text: "Participant instructions" }), el("dd", { text: scenario.participant_instructions || "-" }),
        el("dt", { text: "Frequency" }), el("dd", { text: scenario.sessions_per_week ? `${scenario.sessions_per_week} sessions per week` : "-" }),
        el("dt", { text: "Documents" }), el("dd", {}, scenario.documents.length ? el("ul", {}, scenario.documents.map((d) => el("li", {}, link(`/api/v1/scenarios/${scenario.id}/documents/${d.id}/file`, d.name, { target: "_blank", rel: "noopener" }), el("span", { class: "small muted", text: ` (${Math.ceil(d.size / 1024)} KB)` })))) : el("span", { class: "muted", text: "-" })),
        el("dt", { text: "Tags" }), el("dd", {}, scenario.tags.length ? el("span", { class: "tags" }, scenario.tags.map((t) => el("span", { class: "tag", text: t }))) : "-"),
        el("dt", { text: "Created" }), el("dd", { text: `${scenario.created_by_name || "-"}, ${fmtDate(scenario.created_at)}` }),
      ),
    );
  };

  const participants = async (panel) => {
    if (!canManage) { panel.append(notice("Only the scenario's creator or an admin manages its participants.")); return; }
    panel.append(el("p", { class: "loading", text: "Loading..." }));
    try {
      const [rows, users] = await Promise.all([api(`/api/v1/scenarios/${scenario.id}/participants`), api("/api/v1/users").catch(() => [])]);
      const invited = new Set(rows.map((p) => p.user_id));
      const candidates = users.filter((u) => u.role !== "read_only" && !invited.has(u.id));
      const status = el("div", { "aria-live": "polite" });
      const who = peoplePicker(candidates, [], "People to invite");
      const deadline = input("", { type: "date", name: "deadline" });
      const inviteForm = el("form", { "aria-labelledby": "invite-h" }, el("h3", { id: "invite-h", text: "Invite participants" }),
        candidates.length ? el("div", {}, who.node, field("Deadline (optional)", deadline)) : el("p", { class: "muted", text: "Everyone in the workspace is already invited." }),
        status, candidates.length ? el("button", { type: "submit", class: "primary", text: "Invite" }) : null);
      inviteForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const ids = who.value;
        if (!ids.length) { fill(status, notice("Pick at least one person.", "error")); return; }
        try {
          const body = { user_ids: ids, deadline: deadline.value ? new Date(`${deadline.value}T23:59:00`).toISOString() : null };
          const added = await api(`/api/v1/scenarios/${scenario.id}/participants`, { method: "POST", body });
          toast(`Invited ${added.map((p) => p.name || p.email).join(", ")}.`);
          fill(panel, );
          participants(panel);
        } catch (error) { fill(status, errorNotice(error, "Could not invite: ")); }
      });
      const remove = async (p) => {
        if (!(await confirmDialog({ title: "Remove participant?", body: `${p.name || p.email} stops being assigned this scenario. Their history is kept.`, confirm: "Yes, remove" }))) return;
        try {
          await api(`/api/v1/scenarios/${scenario.id}/participants/${p.id}`, { method: "DELETE" });
          toast(`Removed ${p.name || p.email}.`);
          fill(panel, );
          participants(panel);
        } catch (error) { fill(status, errorNotice(error, "Could not remove: ")); }
      };
      fill(panel,
        dataTable({
          caption: "Participants",
          columns: [
            { label: "Name", render: (p) => p.name || p.email },
            { label: "Email", render: (p) => p.email },
            { label: "Status", render: (p) => (p.session_status ? sessionBadge(p.session_status) : "-") },
            { label: "Attempts", num: true, render: (p) => String(p.attempts) },
            { label: "Deadline", render: (p) => fmtDate(p.deadline) },
            { label: "Invited", render: (p) => fmtDate(p.invited_at) },
            { label: "Actions", render: (p) => el("button", { type: "button", class: "small danger", text: "Remove", "aria-label": `Remove ${p.name || p.email}`, onclick: () => remove(p) }) },
          ],
          rows, empty: "Nobody is invited yet.",
        }),
        inviteForm,
      );
    } catch (error) { fill(panel, errorNotice(error, "Could not load the participants: ")); }
  };

  const history = async (panel) => {
    if (!canManage) { panel.append(notice("Only the scenario's creator or an admin sees its participation history.")); return; }
    panel.append(el("p", { class: "loading", text: "Loading..." }));
    try {
      const people = await api(`/api/v1/scenarios/${scenario.id}/participation`);
      if (!people.length) { fill(panel, el("p", { class: "empty", text: "Nobody has been invited yet." })); return; }
      fill(panel, ...people.map((p) => el("section", { class: "fieldset", "aria-label": p.name || p.email },
        el("h3", {}, p.name || p.email, " ", p.active ? null : el("span", { class: "badge", text: `Removed ${fmtDate(p.removed_at)}` })),
        el("p", { class: "small muted", text: `${p.email} · invited ${fmtDate(p.invited_at)}${p.deadline ? ` · deadline ${fmtDate(p.deadline)}` : ""}` }),
        dataTable({
          caption: `Sessions of ${p.name || p.email}`,
          columns: [
            { label: "Session", render: (s) => link(`/app/sessions/${s.id}`, s.name) },
            { label: "Status", render: (s) => sessionBadge(s.status) },
            { label: "Deadline", render: (s) => fmtDate(s.deadline) },
            { label: "Attempts", render: (s) => (s.attempts.length ? el("ul", { class: "evidence" }, s.attempts.map((a) => el("li", {}, link(`/app/attempts/${a.id}`, `Attempt ${a.number}`), " ", attemptBadge(a.state), ` ${fmtDateTime(a.started_at || a.created_at)} · score ${fmtScore(a.overall)}`))) : "None yet") },
            { label: "Date", render: (s) => fmtDate(s.created_at) },
          ],
          rows: p.sessions, empty: "No sessions.",
        }),
      )));
    } catch (error) { fill(panel, errorNotice(error, "Could not load the participation history: ")); }
  };

  const problems = async (panel) => {
    panel.append(el("p", { class: "loading", text: "Loading..." }));
    try {
      const rows = await api(`/api/v1/scenarios/${scenario.id}/problems`);
      fill(panel, dataTable({
        caption: "Problem reports",
        columns: [
          { label: "Reported", render: (r) => fmtDateTime(r.created_at) },
          { label: "By", render: (r) => r.user_name || "-" },
          { label: "Attempt", render: (r) => link(`/app/attempts/${r.attempt_id}`, `${r.session_name} #${r.attempt_number}`) },
          { label: "Reason", render: (r) => r.reason },
          {
            label: "State",
            render: (r) => (r.resolved_at ? el("span", { class: "badge ok", text: "Resolved" }) : canManage ? el("button", {
              type: "button", class: "small", text: "Mark resolved",
              onclick: async () => {
                try { await api(`/api/v1/problems/${r.id}/resolve`, { method: "POST" }); toast("Marked resolved."); fill(panel, ); problems(panel); } catch (error) { panel.prepend(errorNotice(error)); }
              },
            }) : el("span", { class: "badge warn", text: "Open" })),
          },
        ],
        rows, empty: "No problems reported.",
      }));
    } catch (error) { fill(panel, errorNotice(error, "Could not load the problem reports: ")); }
  };

  const actions = [];
  if (canEdit) {
    actions.push(el("button", { type: "button", class: "primary", text: "Test session", onclick: () => testSession(scenario, messages) }));
    if (canManage) actions.push(el("a", { class: "button", href: `/app/scenarios/${scenario.id}/edit`, text: "Edit" }));
    actions.push(el("button", { type: "button", text: "Duplicate", onclick: () => duplicateScenario(scenario, navigate, messages) }));
    if (scenario.created_by === me.id) actions.push(el("button", { type: "button", class: "danger", text: "Delete", onclick: async () => { if (await deleteScenario(scenario, messages)) navigate("/app/scenarios"); } }));
  }
  const view = tabs([
    { id: "overview", label: "Overview", render: overview },
    { id: "participants", label: "Participants", render: participants },
    { id: "history", label: "Participation history", render: history },
    { id: "problems", label: "Problems", render: problems },
  ], query.get("tab") || "overview", (id) => window.history.replaceState({}, "", `${location.pathname}?tab=${id}`));
  fill(page,
    pageHeader(scenario.name, { crumbs: [["/app/scenarios", "Roleplay Scenarios"]], actions }),
    messages,
    el("section", { class: "card" }, view.node),
  );
}
