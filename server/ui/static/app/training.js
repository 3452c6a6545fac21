// Roleplay Training: the practice sessions table (sort, filter, search, paginate) and "New session".
import { api, el } from "/static/api.js";
import { SCENARIO_TYPES, loadPersonas, typeLabel } from "/static/app/catalog.js";
import { openSessionDialog } from "/static/app/session_dialog.js";
import { dataTable, debounce, errorNotice, field, fmtDate, input, link, pageHeader, pager, select, sessionBadge, fill } from "/static/app/ui.js";

const PAGE_SIZE = 10;

export async function render(ctx) {
  const { me, page, query } = ctx;
  ctx.setTitle("Roleplay Training");
  const state = {
    q: query.get("q") || "", status: query.get("status") || "", scenario_type: query.get("scenario_type") || "",
    persona_id: query.get("persona_id") || "", kind: query.get("kind") || "", owner_id: query.get("owner_id") || "",
    sort: query.get("sort") || "created_at", order: query.get("order") || "desc", page: Number(query.get("page") || 1),
  };
  const canCreate = me.role !== "read_only";
  const actions = [];
  if (canCreate) {
    actions.push(el("button", {
      type: "button", class: "primary", text: "New session",
      onclick: async () => {
        try {
          const scenarios = (await api("/api/v1/scenarios?page_size=200&sort=name&order=asc")).items.filter((s) => s.valid);
          await openSessionDialog({ scenarios, onCreated: (session) => { location.href = `/call/${session.id}`; } });
        } catch (error) {
          fill(results, errorNotice(error, "Could not open the form: "));
        }
      },
    }));
  }
  const personas = await loadPersonas().catch(() => []);
  const users = me.role === "admin" ? await api("/api/v1/users").catch(() => []) : [];
  const results = el("div", { "aria-live": "polite" });
  const search = input(state.q, { type: "search", name: "q", placeholder: "Session, scenario or persona" });
  const filters = el("form", { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() },
    field("Search", search, "", "grow"),
    field("Status", select([["", "All"], ["to_do", "To do"], ["completed", "Completed"], ["overdue", "Overdue"]], state.status, { name: "status" })),
    field("Scenario type", select([["", "All"], ...SCENARIO_TYPES], state.scenario_type, { name: "scenario_type" })),
    field("Persona", select([["", "All"], ...personas.map((p) => [p.id, p.name])], state.persona_id, { name: "persona_id" })),
    field("Kind", select([["", "All"], ["practice", "Practice"], ["assignment", "Assigned"], ["test", "Test"]], state.kind, { name: "kind" })),
  );
  if (me.role === "admin") {
    filters.append(field("Participant", select([["", "Me"], ["all", "Everyone"], ...users.map((u) => [u.id, u.name || u.email])], state.owner_id, { name: "owner_id" })));
  }
  const load = async () => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v !== "" && v !== null) params.set(k, String(v));
    history.replaceState({}, "", `/app/training${params.toString() && params.toString() !== "sort=created_at&order=desc&page=1" ? `?${params}` : ""}`);
    params.set("page_size", String(PAGE_SIZE));
    try {
      const data = await api(`/api/v1/sessions?${params}`);
      if (!ctx.current()) return;
      const others = state.owner_id && state.owner_id !== me.id;
      const columns = [
        { label: "Name", sort: "name", render: (s) => link(`/app/sessions/${s.id}`, s.name) },
        ...(others ? [{ label: "Participant", sort: "owner", render: (s) => s.owner_name }] : []),
        { label: "Attempts", sort: "attempts", num: true, render: (s) => String(s.attempts) },
        { label: "Status", sort: "status", render: (s) => sessionBadge(s.status) },
        { label: "Deadline", sort: "deadline", render: (s) => fmtDate(s.deadline) },
        { label: "Scenario type", sort: "scenario_type", render: (s) => typeLabel(s.scenario_type) },
        { label: "Persona", sort: "persona", render: (s) => s.persona_name || "-" },
        { label: "Created by", sort: "created_by", render: (s) => s.created_by_name || "-" },
        { label: "Date created", sort: "created_at", firstOrder: "desc", render: (s) => fmtDate(s.created_at) },
      ];
      fill(results,
        dataTable({
          columns, rows: data.items, sort: state.sort, order: state.order, caption: "Practice sessions",
          empty: state.q || state.status || state.scenario_type || state.persona_id || state.kind ? "No session matches these filters." : canCreate ? "No practice sessions yet: start one with New session." : "No practice sessions yet.",
          onSort: (sort, order) => { Object.assign(state, { sort, order, page: 1 }); load(); },
        }),
        pager({ page: state.page, pageSize: PAGE_SIZE, total: data.total, onPage: (p) => { state.page = p; load(); } }),
      );
    } catch (error) {
      fill(results, errorNotice(error, "Could not load the sessions: "));
    }
  };
  const refilter = () => {
    for (const control of filters.querySelectorAll("select")) state[control.name] = control.value;
    state.q = search.value.trim();
    state.page = 1;
    load();
  };
  filters.addEventListener("change", (event) => { if (event.target !== search) refilter(); });
  search.addEventListener("input", debounce(refilter, 300));
  fill(page,
    pageHeader("Roleplay Training", { actions }),
    el("p", { class: "muted", text: "Your practice sessions. Open one to see its attempts, or start a new one." }),
    el("section", { class: "card", "aria-label": "Practice sessions" }, filters, results),
  );
  await load();
}
