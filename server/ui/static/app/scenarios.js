// Roleplay Scenarios: the table (name, type, persona, participants, frequency, created by, tags, date created)
// with search, filters, sort and pages; duplicate, delete (creator only, confirm) and "Test session".
import { api, el } from "/static/api.js";
import { SCENARIO_TYPES, typeLabel } from "/static/app/catalog.js";
import { confirmDialog, dataTable, debounce, errorNotice, field, fmtDate, input, link, menu, pageHeader, pager, select, toast, fill } from "/static/app/ui.js";

const PAGE_SIZE = 10;

/** Starts a test session of the scenario, or shows why it cannot ("Scenario is not valid for test session"). */
export async function testSession(scenario, messages) {
  try {
    const session = await api(`/api/v1/scenarios/${scenario.id}/test-session`, { method: "POST" });
    location.href = `/call/${session.id}`;
  } catch (error) {
    fill(messages, errorNotice(error, error.missing && error.missing.length ? "" : "Could not start a test session: "));
    messages.scrollIntoView({ block: "nearest" });
  }
}

export async function duplicateScenario(scenario, navigate, messages) {
  try {
    const copy = await api(`/api/v1/scenarios/${scenario.id}/duplicate`, { method: "POST" });
    toast(`Duplicated as "${copy.name}".`);
    navigate(`/app/scenarios/${copy.id}/edit`);
  } catch (error) { fill(messages, errorNotice(error, "Could not duplicate: ")); }
}

export async function deleteScenario(scenario, messages) {
  const yes = await confirmDialog({ title: "Delete scenario?", body: `"${scenario.name}" is deleted with its practice sessions, attempts and documents.`, confirm: "Yes, delete" });
  if (!yes) return false;
  try {
    await api(`/api/v1/scenarios/${scenario.id}`, { method: "DELETE" });
    toast(`Deleted "${scenario.name}".`);
    return true;
  } catch (error) {
    fill(messages, errorNotice(error, "Could not delete: "));
    return false;
  }
}

export async function render(ctx) {
  const { me, page, query, navigate } = ctx;
  ctx.setTitle("Roleplay Scenarios");
  const state = {
    q: query.get("q") || "", type: query.get("type") || "", tag: query.get("tag") || "", created_by: query.get("created_by") || "",
    sort: query.get("sort") || "created_at", order: query.get("order") || "desc", page: Number(query.get("page") || 1),
  };
  const canEdit = me.role !== "read_only";
  const messages = el("div", { "aria-live": "polite" });
  const results = el("div", { "aria-live": "polite" });
  const tags = await api("/api/v1/tags").catch(() => []);
  const load = async () => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v !== "") params.set(k, String(v));
    history.replaceState({}, "", `/app/scenarios?${params}`);
    params.set("page_size", String(PAGE_SIZE));
    try {
      const data = await api(`/api/v1/scenarios?${params}`);
      if (!ctx.current()) return;
      fill(results,
        dataTable({
          caption: "Scenarios",
          columns: [
            { label: "Name", sort: "name", render: (s) => el("span", {}, link(`/app/scenarios/${s.id}`, s.name), s.valid ? null : el("span", { class: "badge warn", title: s.missing.map((m) => m.message).join("; "), text: " Needs setup" })) },
            { label: "Type", sort: "type", render: (s) => typeLabel(s.type) },
            { label: "Persona", sort: "persona", render: (s) => s.persona_name || "-" },
            { label: "Participants", sort: "participants", num: true, render: (s) => String(s.participant_count) },
            { label: "Frequency", sort: "sessions_per_week", render: (s) => (s.sessions_per_week ? `${s.sessions_per_week} per week` : "-") },
            { label: "Created by", sort: "created_by", render: (s) => s.created_by_name || "-" },
            { label: "Tags", render: (s) => el("span", { class: "tags" }, s.tags.map((t) => el("span", { class: "tag", text: t }))) },
            { label: "Date created", sort: "created_at", firstOrder: "desc", render: (s) => fmtDate(s.created_at) },
            ...(canEdit ? [{
              label: "Actions",
              render: (s) => menu("Actions", [
                el("button", { type: "button", text: "Test session", onclick: () => testSession(s, messages) }),
                me.role === "admin" || s.created_by === me.id ? link(`/app/scenarios/${s.id}/edit`, "Edit", { class: "button" }) : null,
                el("button", { type: "button", text: "Duplicate", onclick: () => duplicateScenario(s, navigate, messages) }),
                s.created_by === me.id ? el("button", { type: "button", class: "danger", text: "Delete", onclick: async () => { if (await deleteScenario(s, messages)) load(); } }) : null,
              ], `Actions for ${s.name}`),
            }] : []),
          ],
          rows: data.items, sort: state.sort, order: state.order,
          onSort: (sort, order) => { Object.assign(state, { sort, order, page: 1 }); load(); },
          empty: state.q || state.type || state.tag ? "No scenario matches these filters." : "No scenarios yet.",
        }),
        pager({ page: state.page, pageSize: PAGE_SIZE, total: data.total, onPage: (p) => { state.page = p; load(); } }),
      );
    } catch (error) { fill(results, errorNotice(error, "Could not load the scenarios: ")); }
  };
  const search = input(state.q, { type: "search", name: "q", placeholder: "Scenario name" });
  const filters = el("form", { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() },
    field("Search", search, "", "grow"),
    field("Type", select([["", "All"], ...SCENARIO_TYPES], state.type, { name: "type" })),
    field("Tag", select([["", "All"], ...tags.map((t) => [t.tag, `${t.tag} (${t.scenarios})`])], state.tag, { name: "tag" })),
    field("Created by", select([["", "Anyone"], ["me", "Me"]], state.created_by, { name: "created_by" })),
  );
  filters.addEventListener("change", (event) => {
    if (event.target === search) return; // typing is handled (debounced) by the input listener
    for (const s of filters.querySelectorAll("select")) state[s.name] = s.value;
    state.page = 1;
    load();
  });
  search.addEventListener("input", debounce(() => { state.q = search.value.trim(); state.page = 1; load(); }));
  fill(page,
    pageHeader("Roleplay Scenarios", { actions: canEdit ? [link("/app/scenarios/new", "New scenario", { class: "button primary" })] : [] }),
    el("p", { class: "muted", text: "Reusable practice conversations: build one, test it, then invite people to practise it." }),
    messages,
    el("section", { class: "card", "aria-label": "Scenarios" }, filters, results),
  );
  await load();
}
