// Session history: the briefing, its attempts (status, date, interactions, score), Start new, Restart roleplay
// after an error, and delete with a "Delete chat?" confirm.
import { api, el } from "/static/api.js";
import { typeLabel } from "/static/app/catalog.js";
import { attemptBadge, confirmDialog, dataTable, errorNotice, fmtDate, fmtDateTime, fmtScore, link, notice, pageHeader, sessionBadge, toast, fill } from "/static/app/ui.js";

const ERROR_TEXT = "There was an issue with the roleplay.";

export async function render(ctx) {
  const { me, page, params, navigate } = ctx;
  const session = await api(`/api/v1/sessions/${params.id}`);
  ctx.setTitle(session.name);
  const owner = session.owner_id === me.id && me.role !== "read_only";
  const canManage = me.role === "admin" || (owner && me.role !== "read_only");
  const messages = el("div", { "aria-live": "polite" });
  const fail = (prefix) => (error) => fill(messages, errorNotice(error, prefix));

  const startNew = async () => {
    try {
      await api(`/api/v1/sessions/${session.id}/attempts`, { method: "POST", body: {} });
      location.href = `/call/${session.id}`;
    } catch (error) { fail("Could not start a new attempt: ")(error); }
  };
  const restart = async (attempt) => {
    try {
      await api(`/api/v1/attempts/${attempt.id}/restart`, { method: "POST" });
      location.href = `/call/${session.id}`;
    } catch (error) { fail("Could not restart the roleplay: ")(error); }
  };
  const removeSession = async () => {
    const yes = await confirmDialog({ title: "Delete chat?", body: `"${session.name}" and all its attempts, transcripts and recordings are deleted for good.`, confirm: "Yes, delete" });
    if (!yes) return;
    try {
      await api(`/api/v1/sessions/${session.id}`, { method: "DELETE" });
      toast(`Deleted "${session.name}".`);
      navigate("/app/training");
    } catch (error) { fail("Could not delete the session: ")(error); }
  };
  const removeAttempt = async (attempt) => {
    const yes = await confirmDialog({ title: "Delete attempt?", body: `Attempt ${attempt.number}, its transcript, recording and evaluation are deleted for good.`, confirm: "Yes, delete" });
    if (!yes) return;
    try {
      await api(`/api/v1/attempts/${attempt.id}`, { method: "DELETE" });
      toast(`Deleted attempt ${attempt.number}.`);
      render(ctx);
    } catch (error) { fail("Could not delete the attempt: ")(error); }
  };

  const actions = [];
  if (owner && session.active) actions.push(el("button", { type: "button", class: "primary", text: session.attempts ? "Start new" : "Start", onclick: startNew }));
  if (canManage) actions.push(el("button", { type: "button", class: "danger", text: "Delete", onclick: removeSession }));

  const started = session.attempt_list.filter((a) => a.started_at || a.state !== "initializing");
  const latest = started[started.length - 1];
  const rows = [...started].reverse();
  const table = dataTable({
    caption: "Attempts",
    columns: [
      { label: "Attempt", render: (a) => link(`/app/attempts/${a.id}`, `Attempt ${a.number}`) },
      { label: "Status", render: (a) => attemptBadge(a.state) },
      { label: "Date", render: (a) => fmtDateTime(a.started_at || a.created_at) },
      { label: "Interactions", num: true, render: (a) => String(a.interactions) },
      { label: "Mode", render: (a) => (a.mode === "text" ? "Chat" : "Voice") },
      { label: "Score", num: true, render: (a) => fmtScore(a.overall) },
      {
        label: "Actions",
        render: (a) => el("div", { class: "row-actions" },
          link(`/app/attempts/${a.id}`, a.state === "completed" ? "Review" : "Open", { class: "button small" }),
          a.state === "error" && owner ? el("button", { type: "button", class: "small primary", text: "Restart roleplay", onclick: () => restart(a) }) : null,
          canManage && !["connecting", "in_session", "paused"].includes(a.state) ? el("button", { type: "button", class: "small danger", text: "Delete", "aria-label": `Delete attempt ${a.number}`, onclick: () => removeAttempt(a) }) : null,
        ),
      },
    ],
    rows,
    empty: owner ? "No attempts yet. Press Start to run the roleplay." : "No attempts yet.",
  });

  const b = session.briefing;
  const persona = b.persona ? `${b.persona.name}${b.persona.job_title ? `, ${b.persona.job_title}` : ""}${b.persona.company ? ` at ${b.persona.company}` : ""}` : "-";
  fill(page,
    pageHeader(session.name, { crumbs: [["/app/training", "Roleplay Training"]], actions }),
    messages,
    latest && latest.state === "error"
      ? el("div", { class: "notice error", role: "alert" }, el("strong", { text: ERROR_TEXT }), " ",
        latest.error && latest.error !== ERROR_TEXT ? el("span", { class: "small", text: `(${latest.error}) ` }) : null,
        owner ? el("button", { type: "button", class: "small primary", text: "Restart roleplay", onclick: () => restart(latest) }) : null)
      : null,
    !session.active ? notice("This session is a draft awaiting approval; it cannot be practised yet.") : null,
    el("div", { class: "grid two" },
      el("section", { class: "card", "aria-labelledby": "about-h" },
        el("h2", { id: "about-h", text: "About this session" }),
        el("dl", { class: "facts" },
          el("dt", { text: "Status" }), el("dd", {}, sessionBadge(session.status)),
          el("dt", { text: "Scenario" }), el("dd", { text: `${session.scenario_name} (${typeLabel(session.scenario_type)})` }),
          el("dt", { text: "Persona" }), el("dd", { text: persona }),
          el("dt", { text: "Time limit" }), el("dd", { text: `${b.time_limit_minutes} minutes` }),
          el("dt", { text: "Practice by" }), el("dd", { text: b.mode === "hybrid" ? "Voice or chat" : b.mode === "text" ? "Chat" : "Voice" }),
          el("dt", { text: "Deadline" }), el("dd", { text: fmtDate(session.deadline) }),
          el("dt", { text: "Participant" }), el("dd", { text: session.owner_name }),
          el("dt", { text: "Created by" }), el("dd", { text: `${session.created_by_name || "-"}, ${fmtDate(session.created_at)}` }),
        ),
      ),
      el("section", { class: "card", "aria-labelledby": "goals-h" },
        el("h2", { id: "goals-h", text: "Goals" }),
        b.goals.length ? el("ul", {}, b.goals.map((g) => el("li", { text: typeof g === "string" ? g : g.description || g.name }))) : el("p", { class: "muted", text: "No goals listed." }),
        b.participant_instructions ? el("p", { class: "muted", text: b.participant_instructions }) : null,
        b.documents.length ? el("p", { class: "small muted", text: `Briefing documents: ${b.documents.map((d) => d.name).join(", ")}` }) : null,
      ),
    ),
    el("section", { class: "card", "aria-labelledby": "attempts-h" }, el("h2", { id: "attempts-h", text: "Attempts" }), table),
  );
}
