// Leaderboard: the best completed attempts (filter by scenario, type and period), as a chart and a table.
import { api, el } from "/static/api.js";
import { COLORS, hbarChart } from "/static/app/charts.js";
import { SCENARIO_TYPES, typeLabel } from "/static/app/catalog.js";
import { dataTable, errorNotice, field, fmtDate, fmtScore, link, pageHeader, select, fill } from "/static/app/ui.js";

export async function render(ctx) {
  const { page, query } = ctx;
  ctx.setTitle("Leaderboard");
  const state = { scenario_id: query.get("scenario_id") || "", roleplay_type: query.get("roleplay_type") || "", period: query.get("period") || "all" };
  const scenarios = (await api("/api/v1/scenarios?page_size=200&sort=name&order=asc").catch(() => ({ items: [] }))).items;
  const results = el("div", { "aria-live": "polite" });
  const load = async () => {
    const params = new URLSearchParams({ limit: "20" });
    for (const [k, v] of Object.entries(state)) if (v) params.set(k, v);
    history.replaceState({}, "", `/app/leaderboard?${params}`);
    try {
      const rows = await api(`/api/v1/roleplays/leaderboard?${params}`);
      if (!ctx.current()) return;
      const top = rows.slice(0, 10);
      fill(results,
        rows.length ? el("section", { class: "card", "aria-labelledby": "lb-chart" }, el("h2", { id: "lb-chart", text: "Top scores" }),
          hbarChart({
            width: 900,
            data: top.map((r, i) => ({ label: `${r.rank}. ${r.user} · ${r.scenario}`, value: r.overall_score, display: fmtScore(r.overall_score), color: COLORS[i === 0 ? 2 : 0] })),
            max: 100, label: `Top scores: ${top.map((r) => `${r.user} ${fmtScore(r.overall_score)}`).join(", ")}`, labelWidth: 260,
          })) : null,
        el("section", { class: "card", "aria-label": "Leaderboard table" }, dataTable({
          caption: "Leaderboard",
          columns: [
            { label: "Rank", num: true, render: (r) => String(r.rank) },
            { label: "Learner", render: (r) => r.user },
            { label: "Scenario", render: (r) => r.scenario },
            { label: "Type", render: (r) => typeLabel(r.roleplay_type) },
            { label: "Score", num: true, render: (r) => fmtScore(r.overall_score) },
            { label: "Completed", render: (r) => fmtDate(r.completed_at) },
            { label: "Review", render: (r) => (r.user_id === ctx.me.id || ctx.me.role === "admin" ? link(`/app/attempts/${r.attempt_id}`, "Open", { "aria-label": `Open the review of ${r.user}, ${r.scenario}` }) : "-") },
          ],
          rows, empty: "No completed, evaluated attempts for these filters yet.",
        })),
      );
    } catch (error) { fill(results, errorNotice(error, "Could not load the leaderboard: ")); }
  };
  const filters = el("form", { class: "toolbar", onsubmit: (e) => e.preventDefault(), "aria-label": "Filters" },
    field("Scenario", select([["", "All scenarios"], ...scenarios.map((s) => [s.id, s.name])], state.scenario_id, { name: "scenario_id" })),
    field("Type", select([["", "All types"], ...SCENARIO_TYPES], state.roleplay_type, { name: "roleplay_type" })),
    field("Period", select([["week", "Last 7 days"], ["month", "Last 30 days"], ["quarter", "Last quarter"], ["year", "Last year"], ["all", "All time"]], state.period, { name: "period" })),
  );
  filters.addEventListener("change", () => { for (const s of filters.querySelectorAll("select")) state[s.name] = s.value; load(); });
  fill(page, pageHeader("Leaderboard"), el("section", { class: "card" }, filters), results);
  await load();
}
