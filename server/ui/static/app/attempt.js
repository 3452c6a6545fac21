// Attempt review: the Evaluation tab ("Generating results..." while grading, then scores per criterion as a
// chart, rationale, evidence quotes that jump to their turn, goals, debrief, suggestions, analytics, coach
// comments and coach actions) and the Transcript tab (numbered turns, interrupted persona turns marked, the
// recording's audio highlighting the turn being played).
import { api, el } from "/static/api.js";
import { hbarChart, donut } from "/static/app/charts.js";
import { attemptBadge, errorNotice, field, fmtDateTime, humanize, input, link, notice, pageHeader, seconds, select, tabs, textarea, toast, fill } from "/static/app/ui.js";

const POLL_MS = 2000;
const WAITING = ["initializing", "connecting", "in_session", "paused", "ended", "evaluating"];

export async function render(ctx) {
  const { page, params, query } = ctx;
  let attempt = await api(`/api/v1/attempts/${params.id}`);
  const session = await api(`/api/v1/sessions/${attempt.session_id}`).catch(() => null);
  let view = await api(`/api/v1/attempts/${params.id}/evaluation`).catch((error) => ({ status: "error", error: error.message, failedToLoad: true }));
  ctx.setTitle(`Attempt ${attempt.number}`);
  let timer = null;
  let audio = null;
  let highlightTurn = null;
  const persona = session && session.briefing.persona ? session.briefing.persona.name.split(" ")[0] : "Persona";

  const head = el("div");
  const drawHead = () => {
    const crumbs = [["/app/training", "Roleplay Training"]];
    if (session) crumbs.push([`/app/sessions/${session.id}`, session.name]);
    fill(head,
      pageHeader(`Attempt ${attempt.number}${session ? ` · ${session.name}` : ""}`, { crumbs }),
      el("p", { class: "controls muted" }, attemptBadge(attempt.state), ` ${fmtDateTime(attempt.started_at || attempt.created_at)}`,
        attempt.started_at && attempt.ended_at ? ` · ${seconds((new Date(attempt.ended_at) - new Date(attempt.started_at)) / 1000)} long` : "",
        ` · ${attempt.interactions} interaction${attempt.interactions === 1 ? "" : "s"} · ${attempt.mode === "text" ? "chat" : "voice"}`),
    );
  };

  // ---- Transcript tab ----
  const transcriptPanel = (panel) => {
    const turns = attempt.transcript || [];
    const comments = (view.coach && view.coach.comments) || [];
    if (audio) { audio.pause(); audio = null; }
    const list = el("ol", { class: "transcript full", "aria-label": "Transcript" });
    for (const t of turns) {
      const notes = comments.filter((c) => Number(c.turn) === Number(t.number));
      list.append(el("li", { class: `turn numbered ${t.speaker}${t.interrupted ? " interrupted" : ""}`, id: `turn-${t.number}`, "data-turn": t.number, tabindex: "-1" },
        el("span", { class: "no", text: `${t.number}.` }),
        el("span", { class: "speaker", text: t.speaker === "learner" ? "You" : persona }),
        el("span", { class: "text" }, t.text, notes.map((c) => el("div", { class: "coach-note small" }, el("strong", { text: `Coach ${c.by || ""}: ` }), c.text))),
        el("span", { class: "time" },
          t.interrupted ? el("span", { class: "mark", text: "interrupted " }) : null,
          typeof t.start === "number" ? el("button", { type: "button", class: "seek", "aria-label": `Play from turn ${t.number}`, text: seconds(t.start), onclick: () => seek(t) }) : null),
      ));
    }
    const player = el("div", { class: "audio-bar" });
    panel.append(player, turns.length ? list : el("p", { class: "empty", text: "No transcript: nothing was said in this attempt." }));
    if (attempt.has_recording && attempt.mode !== "text") {
      player.append(el("p", { class: "small muted", text: "Loading the recording..." }));
      api(`/api/v1/artifacts/${attempt.session_id}/session_audio?attempt_id=${attempt.id}`)
        .then((signed) => {
          audio = el("audio", { controls: true, preload: "metadata", src: new URL(signed.url, location.href).pathname + new URL(signed.url, location.href).search, "aria-label": "Recording of the call" });
          audio.addEventListener("timeupdate", () => follow(list, turns, audio.currentTime));
          fill(player, el("label", { class: "small muted", text: "Recording (you on the left, the persona on the right)" }), audio);
          window.sparringReview = { audio };
        })
        .catch((error) => fill(player, el("p", { class: "small muted", text: `No recording to play: ${error.message}` })));
    }
    if (highlightTurn) {
      const target = list.querySelector(`#turn-${highlightTurn}`);
      if (target) {
        list.querySelectorAll(".highlight").forEach((n) => n.classList.remove("highlight"));
        target.classList.add("highlight");
        requestAnimationFrame(() => { target.scrollIntoView({ block: "center" }); target.focus({ preventScroll: true }); });
      }
      highlightTurn = null;
    }
  };
  const seek = (turn) => {
    if (!audio) return;
    audio.currentTime = Math.max(0, turn.start);
    audio.play().catch(() => {});
  };
  const follow = (list, turns, time) => {
    let current = null;
    for (const t of turns) if (time >= t.start - 0.05 && time <= t.end + 0.3) current = t.number;
    list.querySelectorAll(".turn.current").forEach((n) => { if (Number(n.dataset.turn) !== current) n.classList.remove("current"); });
    if (current !== null) {
      const node = list.querySelector(`#turn-${current}`);
      if (node && !node.classList.contains("current")) {
        node.classList.add("current");
        node.scrollIntoView({ block: "nearest" });
      }
    }
  };
  const jump = (turn) => {
    highlightTurn = turn;
    tabView.show("transcript");
    history.replaceState({}, "", `${location.pathname}?tab=transcript#turn-${turn}`);
  };
  const quote = (q) => el("button", { type: "button", class: "quote", onclick: () => jump(q.turn), "aria-label": `Turn ${q.turn}: ${q.text}. Show in the transcript` },
    el("span", { class: "turn-ref", text: `Turn ${q.turn}` }), `\u201c${q.text}\u201d`);

  // ---- Evaluation tab ----
  const evaluationPanel = (panel) => {
    if (view.failedToLoad) {
      panel.append(errorNotice(new Error(view.error), "Could not load the evaluation: "));
      return;
    }
    if (view.status === "pending" && WAITING.slice(0, 4).includes(attempt.state)) {
      panel.append(notice("This attempt has not ended yet; its evaluation comes when the call ends."));
      return;
    }
    if (view.status === "pending" || view.status === "evaluating") {
      panel.append(el("div", { class: "generating", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }), "Generating results..."),
        el("p", { class: "muted small", text: "The grader is scoring the transcript against the rubric. This page updates by itself." }));
      return;
    }
    if (view.status === "error") {
      const box = el("div", { class: "notice error", role: "alert" }, el("strong", { text: attempt.error || view.error || "There was an issue with the roleplay." }));
      panel.append(box);
      const gradingFailed = (attempt.error || "").startsWith("The evaluation failed");
      if (gradingFailed) {
        box.append(" ", el("button", {
          type: "button", class: "small primary", text: "Retry evaluation",
          onclick: async () => {
            try {
              view = await api(`/api/v1/attempts/${attempt.id}/evaluation/retry`, { method: "POST" });
              attempt = await api(`/api/v1/attempts/${attempt.id}`);
              redraw();
              poll();
            } catch (error) { panel.prepend(errorNotice(error, "Could not retry: ")); }
          },
        }));
      } else if (session && session.owner_id === ctx.me.id) {
        box.append(" ", link(`/app/sessions/${session.id}`, "Restart roleplay from the session", { class: "button small" }));
      }
      return;
    }
    drawEvaluation(panel);
  };

  const drawEvaluation = (panel) => {
    const result = view.result || {};
    const criteria = view.criteria && view.criteria.length ? view.criteria : result.criteria || [];
    const goals = result.goals || [];
    const debrief = result.debrief || {};
    const a = result.analytics || {};
    const coach = view.coach || {};
    const met = goals.filter((g) => g.achieved).length;

    const summary = el("div", { class: "grid four" },
      el("div", { class: "stat" }, el("div", { class: "label", text: "Overall score" }),
        el("div", { class: "controls" }, donut({ value: (view.overall ?? 0) / 100, text: `${Math.round(view.overall ?? 0)}`, label: `Overall score ${Math.round(view.overall ?? 0)} out of 100`, size: 96 })),
        view.ai_overall !== null && view.ai_overall !== undefined && Math.round(view.ai_overall) !== Math.round(view.overall ?? 0)
          ? el("div", { class: "small muted", text: `AI score ${Math.round(view.ai_overall)}; coach overrides applied` }) : null),
      el("div", { class: "stat" }, el("div", { class: "label", text: "Goals met" }), el("div", { class: "value", text: `${met} of ${goals.length}` })),
      el("div", { class: "stat" }, el("div", { class: "label", text: "Your talk ratio" }), el("div", { class: "value", text: a.learner_talk_ratio !== undefined ? `${Math.round(a.learner_talk_ratio * 100)}%` : "-" })),
      el("div", { class: "stat" }, el("div", { class: "label", text: "Questions asked" }), el("div", { class: "value", text: a.questions !== undefined ? String(a.questions) : "-" }),
        a.questions !== undefined ? el("div", { class: "small muted", text: `${a.open_questions} open, ${a.closed_questions} closed` }) : null),
    );

    const chartData = criteria.map((c) => {
      const check = c.kind === "check";
      const value = check ? (Number(c.score) >= 1 ? 5 : 0) : Number(c.score);
      return { label: c.title || humanize(c.name), value, display: check ? (Number(c.score) >= 1 ? "Met" : "Not met") : `${Number(c.score).toFixed(Number.isInteger(Number(c.score)) ? 0 : 1)} / 5`, color: c.override ? "var(--c3)" : undefined };
    });
    const markers = criteria.map((c, i) => (c.override && c.kind !== "check" ? { index: i, value: Number(c.ai_score), title: `AI score ${c.ai_score}` } : null)).filter(Boolean);
    const chart = el("section", { class: "card", "aria-labelledby": "chart-h" },
      el("h2", { id: "chart-h", text: "Scores by criterion" }),
      hbarChart({ width: 900, labelWidth: 220, data: chartData, max: 5, label: `Scores by criterion: ${chartData.map((d) => `${d.label} ${d.display}`).join("; ")}`, format: (v) => String(Math.round(v)), markers }),
      markers.length ? el("p", { class: "small muted", text: "Orange bars carry a coach's score; the dashed line marks the AI score." }) : null,
    );

    const criteriaBox = el("section", { class: "card", "aria-labelledby": "crit-h" }, el("h2", { id: "crit-h", text: "Criteria" }));
    for (const c of criteria) {
      const check = c.kind === "check";
      const shown = check ? (Number(c.score) >= 1 ? "Met" : "Not met") : `${c.score} / 5`;
      criteriaBox.append(el("article", { class: "criterion", id: `criterion-${c.name}` },
        el("div", { class: "criterion-head" }, el("h3", { text: c.title || humanize(c.name) }),
          el("span", {}, el("strong", { text: shown }), c.weight && c.weight !== 1 ? el("span", { class: "small muted", text: ` · weight ${c.weight}` }) : null)),
        c.override ? el("div", { class: "coach-note small" }, el("strong", { text: `Coach ${c.override.by || ""} changed the score` }),
          ` from ${check ? (Number(c.ai_score) >= 1 ? "met" : "not met") : c.ai_score} (AI): ${c.override.reason}`) : null,
        c.rationale ? el("p", { text: c.rationale }) : null,
        c.evidence && c.evidence.length ? el("ul", { class: "evidence", "aria-label": "Evidence" }, c.evidence.map((q) => el("li", {}, quote(q)))) : null,
        c.checklist && c.checklist.length ? el("ul", { class: "small" }, c.checklist.map((h) => el("li", {}, el("span", { "aria-hidden": "true", text: h.met ? "\u2713 " : "\u2717 " }), el("span", { class: "visually-hidden", text: h.met ? "Met: " : "Not met: " }), h.item, h.fact ? el("span", { class: "muted", text: ` (${h.fact})` }) : null))) : null,
        c.flags && c.flags.length ? el("p", { class: "small muted", text: `Notes: ${c.flags.map(humanize).join(", ")}` }) : null,
      ));
    }

    const goalsBox = el("section", { class: "card", "aria-labelledby": "goals-h" }, el("h2", { id: "goals-h", text: "Goals" }),
      goals.length ? goals.map((g) => el("div", { class: `goal ${g.achieved ? "met" : "unmet"}` },
        el("span", { class: "mark", "aria-hidden": "true", text: g.achieved ? "\u2713" : "\u2717" }),
        el("div", {}, el("span", { class: "visually-hidden", text: g.achieved ? "Met: " : "Not met: " }), g.description || humanize(g.name),
          g.evidence && g.evidence.length ? el("ul", { class: "evidence" }, g.evidence.map((q) => el("li", {}, quote(q)))) : null)))
        : el("p", { class: "muted", text: "This scenario lists no goals." }));

    const point = (p) => el("li", {}, p.text, p.quote && p.turn ? el("div", {}, quote({ turn: p.turn, text: p.quote })) : p.turn ? el("span", {}, " ", el("button", { type: "button", class: "link", text: `(turn ${p.turn})`, onclick: () => jump(p.turn) })) : null);
    const debriefBox = el("section", { class: "card debrief", "aria-labelledby": "debrief-h" }, el("h2", { id: "debrief-h", text: "Debrief" }),
      el("div", { class: "grid two" },
        el("div", {}, el("h3", { text: "What worked" }), (debrief.what_worked || []).length ? el("ul", {}, debrief.what_worked.map(point)) : el("p", { class: "muted", text: "Nothing stood out yet." })),
        el("div", {}, el("h3", { text: "What was missing" }), (debrief.what_was_missing || []).length ? el("ul", {}, debrief.what_was_missing.map(point)) : el("p", { class: "muted", text: "Nothing missing." })),
      ),
      (debrief.key_moments || []).length ? el("div", {}, el("h3", { text: "Key moments" }), el("ul", {}, debrief.key_moments.map((m) =>
        el("li", {}, el("button", { type: "button", class: "link", text: `Turn ${m.turn}`, onclick: () => jump(m.turn) }), `: ${m.note}`)))) : null,
      el("h3", { text: "Next time: suggestions" }),
      (debrief.suggestions || []).length ? el("ul", {}, debrief.suggestions.map((s) => el("li", {}, s.text,
        s.original || s.better ? el("div", { class: "better" },
          s.original ? el("span", {}, el("span", { class: "visually-hidden", text: "You said: " }), el("span", { class: "was", text: `\u201c${s.original}\u201d` }), s.turn ? el("button", { type: "button", class: "link small", text: ` turn ${s.turn}`, onclick: () => jump(s.turn) }) : null) : null,
          s.better ? el("span", {}, el("strong", { text: "Try: " }), `\u201c${s.better}\u201d`) : null) : null)))
        : el("p", { class: "muted", text: "No suggestions this time." }),
    );

    const facts = [
      ["Talk ratio (you)", a.learner_talk_ratio !== undefined ? `${Math.round(a.learner_talk_ratio * 100)}%` : null],
      ["Words per minute", a.words_per_minute !== undefined ? Math.round(a.words_per_minute) : null],
      ["Filler words", a.filler_words !== undefined ? `${a.filler_words} (${Number(a.fillers_per_minute || 0).toFixed(1)} per minute)${Object.keys(a.filler_counts || {}).length ? `: ${Object.entries(a.filler_counts).map(([k, v]) => `${k} ${v}`).join(", ")}` : ""}` : null],
      ["Questions", a.questions !== undefined ? `${a.questions} (${a.open_questions} open, ${a.closed_questions} closed)` : null],
      ["Longest monologue", a.longest_monologue_s !== undefined ? `${Math.round(a.longest_monologue_s)} s (${a.longest_monologue_words} words)` : null],
      ["Interruptions", a.learner_interruptions !== undefined ? `you ${a.learner_interruptions}, persona ${a.persona_interruptions}` : null],
      ["Response delay (median)", a.response_delay_median_s !== undefined && a.response_delay_median_s !== null ? `${Number(a.response_delay_median_s).toFixed(1)} s` : null],
      ["Duration", a.duration_s !== undefined ? seconds(a.duration_s) : null],
    ].filter(([, v]) => v !== null);
    const analyticsBox = el("section", { class: "card", "aria-labelledby": "an-h" }, el("h2", { id: "an-h", text: "Conversation analytics" }),
      el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })])));

    panel.append(summary, chart, el("div", { class: "grid two" }, goalsBox, analyticsBox), criteriaBox, debriefBox, coachBox(coach, criteria));
    if (result.meta && result.meta.chunked) panel.append(el("p", { class: "small muted", text: `This long transcript was graded in ${result.meta.segments} segments.` }));
  };

  const coachBox = (coach, criteria) => {
    const box = el("section", { class: "card", "aria-labelledby": "coach-h" }, el("h2", { id: "coach-h", text: "Coach review" }));
    if (coach.reviewed) box.append(el("p", {}, el("span", { class: "badge ok", text: "Reviewed" }), ` by ${coach.reviewed.by || "a coach"}, ${fmtDateTime(coach.reviewed.at)}`));
    const comments = coach.comments || [];
    box.append(el("h3", { text: "Comments" }), comments.length
      ? el("ul", {}, comments.map((c) => el("li", {}, el("button", { type: "button", class: "link", text: `Turn ${c.turn}`, onclick: () => jump(c.turn) }), `: ${c.text} `, el("span", { class: "small muted", text: `(${c.by || "coach"}, ${fmtDateTime(c.at)})` }))))
      : el("p", { class: "muted", text: "No coach comments yet." }));
    if (!view.can_coach) return box;
    const messages = el("div", { "aria-live": "polite" });
    const act = async (path, body, done) => {
      try {
        view = await api(`/api/v1/attempts/${attempt.id}/evaluation/${path}`, { method: "POST", body });
        toast(done);
        redraw("evaluation");
      } catch (error) { fill(messages, errorNotice(error)); }
    };
    // Override a criterion's score.
    const critSel = select(criteria.map((c) => [c.name, c.title || humanize(c.name)]), "", { name: "criterion" });
    const scoreSel = el("select", { name: "score" });
    const drawScores = () => {
      const c = criteria.find((x) => x.name === critSel.value);
      const opts = c && c.kind === "check" ? [["1", "Met"], ["0", "Not met"]] : [["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"], ["5", "5"]];
      fill(scoreSel, ...opts.map(([v, l]) => el("option", { value: v, text: l })));
      if (c) scoreSel.value = String(Math.round(Number(c.score)));
    };
    critSel.addEventListener("change", drawScores);
    drawScores();
    const reason = input("", { name: "reason", maxlength: 2000, required: true });
    const overrideForm = el("form", { class: "fieldset", onsubmit: (e) => { e.preventDefault(); if (!reason.value.trim()) { fill(messages, notice("Give a reason for the new score.", "error")); return; } act("overrides", { criterion: critSel.value, score: Number(scoreSel.value), reason: reason.value.trim() }, "Score changed."); } },
      el("legend", { text: "Change a score" }),
      el("div", { class: "grid three" }, field("Criterion", critSel), field("Score", scoreSel), field("Reason", reason)),
      el("button", { type: "submit", text: "Save score" }));
    const turnSel = select((attempt.transcript || []).map((t) => [String(t.number), `${t.number}. ${t.speaker === "learner" ? "You" : persona}: ${t.text.slice(0, 60)}`]), "", { name: "turn" });
    const text = textarea("", { name: "comment", rows: 2, maxlength: 4000 });
    const commentForm = el("form", { class: "fieldset", onsubmit: (e) => { e.preventDefault(); if (!text.value.trim()) { fill(messages, notice("Write a comment first.", "error")); return; } act("comments", { turn: Number(turnSel.value), text: text.value.trim() }, "Comment added."); } },
      el("legend", { text: "Comment on a turn" }), field("Turn", turnSel), field("Comment", text), el("button", { type: "submit", text: "Add comment" }));
    box.append(messages, overrideForm, (attempt.transcript || []).length ? commentForm : null,
      el("div", { class: "controls" }, el("button", { type: "button", class: "primary", text: coach.reviewed ? "Mark reviewed again" : "Mark reviewed", onclick: () => act("reviewed", undefined, "Marked as reviewed.") })));
    return box;
  };

  // ---- layout, polling ----
  const body = el("div");
  let tabView = null;
  const redraw = (selected) => {
    drawHead();
    const current = selected || (tabView ? tabView.current : query.get("tab") === "transcript" ? "transcript" : "evaluation");
    tabView = tabs([
      { id: "evaluation", label: "Evaluation", render: evaluationPanel },
      { id: "transcript", label: "Transcript", render: transcriptPanel },
    ], current, (id) => history.replaceState({}, "", `${location.pathname}${id === "transcript" ? "?tab=transcript" : ""}`));
    fill(body, tabView.node);
  };
  const poll = () => {
    clearTimeout(timer);
    if (!(view.status === "pending" || view.status === "evaluating") || view.failedToLoad) return;
    timer = setTimeout(async () => {
      if (!ctx.current()) return;
      try {
        const [a, v] = await Promise.all([api(`/api/v1/attempts/${attempt.id}`), api(`/api/v1/attempts/${attempt.id}/evaluation`)]);
        const changed = v.status !== view.status || a.state !== attempt.state || (a.transcript || []).length !== (attempt.transcript || []).length;
        attempt = a;
        view = v;
        if (changed && ctx.current()) redraw();
      } catch { /* try again on the next tick */ }
      poll();
    }, POLL_MS);
  };
  if (location.hash.startsWith("#turn-")) highlightTurn = Number(location.hash.slice(6));
  fill(page, head, body);
  redraw(highlightTurn ? "transcript" : undefined);
  poll();
  return () => {
    clearTimeout(timer);
    if (audio) audio.pause();
  };
}
