// Report: totals, attempts per week, completion, average score per criterion and each learner's progress over
// attempts, drawn locally as SVG, with the tables per scenario and per person.
import { api, el } from "/static/api.js";
import { donut, hbarChart, legend, lineChart, vbarChart } from "/static/app/charts.js";
import { typeLabel } from "/static/app/catalog.js";
import { dataTable, errorNotice, field, fmtDate, fmtScore, humanize, pageHeader, pct, select, fill } from "/static/app/ui.js";

export async function render(ctx) {
  const { page, query } = ctx;
  ctx.setTitle("Report");
  const state = { weeks: query.get("weeks") || "12", scenario_id: query.get("scenario_id") || "" };
  const scenarios = (await api("/api/v1/scenarios?page_size=200&sort=name&order=asc").catch(() => ({ items: [] }))).items;
  const results = el("div", { "aria-live": "polite" });
  const load = async () => {
    const params = new URLSearchParams({ weeks: state.weeks });
    if (state.scenario_id) params.set("scenario_id", state.scenario_id);
    history.replaceState({}, "", `/app/report?${params}`);
    try {
      const r = await api(`/api/v1/report?${params}`);
      if (!ctx.current()) return;
      const t = r.totals;
      const stat = (label, value, sub) => el("div", { class: "stat" }, el("div", { class: "label", text: label }), el("div", { class: "value", text: value }), sub ? el("div", { class: "small muted", text: sub }) : null);
      const weeks = r.by_week.map((w) => ({ label: new Date(`${w.week}T00:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" }), value: w.attempts }));
      // Scales average 1-5; yes/no checks average 0-1 (a pass rate), drawn on the same 5-point axis.
      const criteria = r.criteria.map((c) => c.kind === "check"
        ? { label: humanize(c.name), value: c.average * 5, display: `${Math.round(c.average * 100)}% passed (${c.count})` }
        : { label: humanize(c.name), value: c.average, display: `${c.average.toFixed(1)} / 5 (${c.count})` });
      const learners = r.progress.filter((p) => p.scores.length);
      fill(results,
        el("div", { class: "grid four" },
          stat("Sessions", String(t.sessions), `${t.completed_sessions} completed, ${t.overdue_sessions} overdue`),
          stat("Attempts", String(t.attempts), `${r.trends.attempts_change >= 0 ? "+" : ""}${r.trends.attempts_change} vs the first half of the period`),
          stat("Average score", fmtScore(t.average_score), r.trends.average_score_change === null ? `${t.evaluated_attempts} evaluated` : `${r.trends.average_score_change >= 0 ? "+" : ""}${Math.round(r.trends.average_score_change)} trend · ${t.evaluated_attempts} evaluated`),
          stat("Overdue rate", pct(t.overdue_rate)),
        ),
        el("div", { class: "grid two" },
          el("section", { class: "card", "aria-labelledby": "ch-weeks" }, el("h2", { id: "ch-weeks", text: "Attempts per week" }),
            vbarChart({ width: 440, data: weeks, label: `Attempts per week: ${weeks.map((w) => `${w.label} ${w.value}`).join(", ")}` })),
          el("section", { class: "card", "aria-labelledby": "ch-done" }, el("h2", { id: "ch-done", text: "Completion" }),
            el("div", { class: "controls" }, donut({ value: t.completion_rate || 0, label: `Completion rate ${pct(t.completion_rate)}` }),
              el("div", {}, el("p", { text: `${t.completed_sessions} of ${t.sessions} sessions have an attempt.` }), el("p", { class: "muted", text: `${t.overdue_sessions} overdue (${pct(t.overdue_rate)}).` }))),
            r.by_scenario.length ? hbarChart({ width: 440, labelWidth: 150, data: r.by_scenario.map((s) => ({ label: s.name, value: (s.completion_rate || 0) * 100, display: pct(s.completion_rate) })), max: 100, format: (v) => `${Math.round(v)}%`, label: `Completion per scenario: ${r.by_scenario.map((s) => `${s.name} ${pct(s.completion_rate)}`).join(", ")}` }) : null),
        ),
        el("div", { class: "grid two" },
          el("section", { class: "card", "aria-labelledby": "ch-crit" }, el("h2", { id: "ch-crit", text: "Average score per criterion" }),
            criteria.length ? hbarChart({ width: 440, labelWidth: 150, data: criteria, max: 5, label: `Average score per criterion: ${criteria.map((c) => `${c.label} ${c.display}`).join(", ")}` }) : el("p", { class: "empty", text: "No evaluated attempts yet." })),
          el("section", { class: "card", "aria-labelledby": "ch-prog" }, el("h2", { id: "ch-prog", text: "Progress per learner" }),
            learners.length ? el("div", {}, lineChart({ width: 440, series: learners.map((p) => ({ name: p.name, values: p.scores.map((s) => s.overall) })), label: `Overall score over attempts: ${learners.map((p) => `${p.name}: ${p.scores.map((s) => Math.round(s.overall)).join(", ")}`).join("; ")}` }),
              legend(learners.map((p) => `${p.name}${p.change !== null ? ` (${p.change >= 0 ? "+" : ""}${Math.round(p.change)})` : ""}`)))
              : el("p", { class: "empty", text: "No evaluated attempts yet." })),
        ),
        el("section", { class: "card", "aria-labelledby": "t-scen" }, el("h2", { id: "t-scen", text: "By scenario" }), dataTable({
          caption: "By scenario",
          columns: [
            { label: "Scenario", render: (s) => s.name }, { label: "Type", render: (s) => typeLabel(s.type) },
            { label: "Sessions", num: true, render: (s) => String(s.sessions) }, { label: "Attempts", num: true, render: (s) => String(s.attempts) },
            { label: "Completion", num: true, render: (s) => pct(s.completion_rate) }, { label: "Overdue", num: true, render: (s) => pct(s.overdue_rate) },
            { label: "Average score", num: true, render: (s) => fmtScore(s.average_score) },
          ],
          rows: r.by_scenario, empty: "No sessions in this period.",
        })),
        el("section", { class: "card", "aria-labelledby": "t-person" }, el("h2", { id: "t-person", text: "By person" }), dataTable({
          caption: "By person",
          columns: [
            { label: "Person", render: (p) => p.name || p.email }, { label: "Sessions", num: true, render: (p) => String(p.sessions) },
            { label: "Attempts", num: true, render: (p) => String(p.attempts) }, { label: "Completion", num: true, render: (p) => pct(p.completion_rate) },
            { label: "Overdue", num: true, render: (p) => pct(p.overdue_rate) }, { label: "Average score", num: true, render: (p) => fmtScore(p.average_score) },
          ],
          rows: r.by_person, empty: "Nobody practised in this period.",
        })),
        el("p", { class: "small muted", text: `From ${fmtDate(r.since)} to ${fmtDate(r.until)}. Test sessions are left out.` }),
      );
    } catch (error) { fill(results, errorNotice(error, "Could not load the report: ")); }
  };
  const filters = el("form", { class: "toolbar", onsubmit: (e) => e.preventDefault(), "aria-label": "Filters" },
    field("Period", select([["4", "Last 4 weeks"], ["12", "Last 12 weeks"], ["26", "Last 26 weeks"], ["52", "Last year"]], state.weeks, { name: "weeks" })),
    field("Scenario", select([["", "All scenarios"], ...scenarios.map((s) => [s.id, s.name])], state.scenario_id, { name: "scenario_id" })),
  );
  filters.addEventListener("change", () => { for (const s of filters.querySelectorAll("select")) state[s.name] = s.value; load(); });
  fill(page, pageHeader("Report"), el("section", { class: "card" }, filters), results);
  await load();
}
