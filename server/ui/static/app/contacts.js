// Contacts: the people a learner really talks to. List with search, add, CSV import; a contact's page with
// its details and a Roleplay tab ("Create Roleplay" pre-filled from the contact; the roleplays tied to it).
import { api, el } from "/static/api.js";
import { openSessionDialog } from "/static/app/session_dialog.js";
import {
  confirmDialog, dataTable, debounce, errorNotice, field, fmtDate, input, link, modal, notice, pageHeader, pager, sessionBadge, tabs, textarea, toast, fill } from "/static/app/ui.js";

const PAGE_SIZE = 15;

export async function render(ctx) {
  return ctx.variant === "detail" ? detail(ctx) : list(ctx);
}

function contactForm(contact, onSaved) {
  modal({
    title: contact ? `Edit ${contact.name}` : "Add contact",
    build(dialog, close) {
      const c = contact || {};
      const name = input(c.name, { name: "name", required: true, maxlength: 200 });
      const title = input(c.title, { name: "title", maxlength: 200 });
      const company = input(c.company, { name: "company", maxlength: 200 });
      const url = input(c.profile_url, { type: "url", name: "profile_url", maxlength: 500 });
      const notes = textarea(c.notes, { name: "notes", rows: 4 });
      const status = el("div", { "aria-live": "polite" });
      const form = el("form", { novalidate: true },
        field("Name", name), field("Title", title), field("Company", company),
        field("Profile URL (optional)", url, "Kept as a reference only; it is never fetched."),
        field("Notes", notes, "What you know about them: this grounds the persona in a roleplay."),
        status,
        el("div", { class: "controls" }, el("button", { type: "button", text: "Cancel", onclick: () => close() }), el("button", { type: "submit", class: "primary", text: "Save" })),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!name.value.trim()) { fill(status, notice("Give the contact a name.", "error")); return; }
        const body = { name: name.value.trim(), title: title.value.trim(), company: company.value.trim(), profile_url: url.value.trim(), notes: notes.value.trim() };
        try {
          const saved = await api(contact ? `/api/v1/contacts/${contact.id}` : "/api/v1/contacts", { method: contact ? "PATCH" : "POST", body });
          close("saved");
          onSaved(saved);
        } catch (error) { fill(status, errorNotice(error)); }
      });
      dialog.append(form);
    },
  });
}

function importDialog(onDone) {
  modal({
    title: "Import contacts from CSV",
    build(dialog, close) {
      const file = el("input", { type: "file", name: "file", accept: ".csv,text/csv", required: true });
      const status = el("div", { "aria-live": "polite" });
      const form = el("form", {},
        el("p", { class: "small muted", text: "Columns: name, title, company, profile_url, notes. A header row is optional." }),
        field("CSV file", file), status,
        el("div", { class: "controls" }, el("button", { type: "button", text: "Close", onclick: () => close() }), el("button", { type: "submit", class: "primary", text: "Import" })),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!file.files.length) { fill(status, notice("Choose a CSV file first.", "error")); return; }
        const formData = new FormData();
        formData.append("file", file.files[0]);
        try {
          const result = await api("/api/v1/contacts/import", { method: "POST", form: formData });
          fill(status, notice(`Imported ${result.created} contact${result.created === 1 ? "" : "s"}.`, result.errors.length ? "" : "ok"));
          if (result.errors.length) {
            status.append(el("div", { class: "notice error", role: "alert" }, `${result.errors.length} row${result.errors.length === 1 ? " was" : "s were"} skipped:`,
              el("ul", { class: "missing" }, result.errors.map((e) => el("li", { text: `line ${e.row}: ${e.error}` })))));
          }
          onDone(result);
        } catch (error) { fill(status, errorNotice(error, "Import failed: ")); }
      });
      dialog.append(form);
    },
  });
}

async function list(ctx) {
  const { me, page, query, navigate } = ctx;
  ctx.setTitle("Contacts");
  const state = { q: query.get("q") || "", page: Number(query.get("page") || 1) };
  const results = el("div", { "aria-live": "polite" });
  const canEdit = me.role !== "read_only";
  const load = async () => {
    const params = new URLSearchParams({ page: String(state.page), page_size: String(PAGE_SIZE) });
    if (state.q) params.set("q", state.q);
    try {
      const data = await api(`/api/v1/contacts?${params}`);
      if (!ctx.current()) return;
      fill(results,
        dataTable({
          caption: "Contacts",
          columns: [
            { label: "Name", render: (c) => link(`/app/contacts/${c.id}`, c.name) },
            { label: "Title", render: (c) => c.title || "-" },
            { label: "Company", render: (c) => c.company || "-" },
            { label: "Roleplays", num: true, render: (c) => String(c.roleplays) },
            { label: "Added", render: (c) => fmtDate(c.created_at) },
          ],
          rows: data.items,
          empty: state.q ? "No contact matches your search." : "No contacts yet: add one or import a CSV file.",
        }),
        pager({ page: state.page, pageSize: PAGE_SIZE, total: data.total, onPage: (p) => { state.page = p; load(); } }),
      );
    } catch (error) { fill(results, errorNotice(error, "Could not load the contacts: ")); }
  };
  const search = input(state.q, { type: "search", name: "q", placeholder: "Name, title or company" });
  search.addEventListener("input", debounce(() => { state.q = search.value.trim(); state.page = 1; load(); }));
  const actions = canEdit ? [
    el("button", { type: "button", text: "Import CSV", onclick: () => importDialog(() => load()) }),
    el("button", { type: "button", class: "primary", text: "Add contact", onclick: () => contactForm(null, (c) => { toast(`Added ${c.name}.`); navigate(`/app/contacts/${c.id}`); }) }),
  ] : [];
  fill(page,
    pageHeader("Contacts", { actions }),
    el("p", { class: "muted", text: "The people you really talk to. Rehearse a conversation with one of them before the real call." }),
    el("section", { class: "card", "aria-label": "Contacts" }, el("form", { class: "toolbar", role: "search", onsubmit: (e) => e.preventDefault() }, field("Search", search, "", "grow")), results),
  );
  await load();
}

async function detail(ctx) {
  const { me, page, params, navigate, query } = ctx;
  let contact = await api(`/api/v1/contacts/${params.id}`);
  ctx.setTitle(contact.name);
  const canEdit = me.role !== "read_only";
  const messages = el("div", { "aria-live": "polite" });
  const roleplays = async (panel) => {
    fill(panel, el("p", { class: "loading", text: "Loading..." }));
    try {
      const rows = await api(`/api/v1/contacts/${contact.id}/roleplays`);
      fill(panel,
        canEdit ? el("div", { class: "controls" }, el("button", {
          type: "button", class: "primary", text: "Create Roleplay",
          onclick: () => openSessionDialog({ contact, onCreated: (s) => { location.href = `/call/${s.id}`; } }).catch((e) => fill(messages, errorNotice(e))),
        })) : null,
        el("h2", { text: "Roleplays with this contact" }),
        dataTable({
          caption: "Roleplays",
          columns: [
            { label: "Name", render: (s) => link(`/app/sessions/${s.id}`, s.name) },
            { label: "Attempts", num: true, render: (s) => String(s.attempts) },
            { label: "Status", render: (s) => sessionBadge(s.status) },
            { label: "Deadline", render: (s) => fmtDate(s.deadline) },
            { label: "Created", render: (s) => fmtDate(s.created_at) },
          ],
          rows,
          empty: "No roleplays yet. Create one to rehearse a conversation with this person.",
        }),
      );
    } catch (error) { fill(panel, errorNotice(error, "Could not load the roleplays: ")); }
  };
  const details = (panel) => {
    panel.append(el("dl", { class: "facts" },
      el("dt", { text: "Title" }), el("dd", { text: contact.title || "-" }),
      el("dt", { text: "Company" }), el("dd", { text: contact.company || "-" }),
      el("dt", { text: "Profile URL" }), el("dd", { text: contact.profile_url || "-" }),
      el("dt", { text: "Notes" }), el("dd", { text: contact.notes || "-" }),
      el("dt", { text: "Added" }), el("dd", { text: fmtDate(contact.created_at) }),
    ));
  };
  const actions = canEdit ? [
    el("button", { type: "button", text: "Edit", onclick: () => contactForm(contact, (c) => { contact = c; toast("Saved."); detail(ctx); }) }),
    el("button", {
      type: "button", class: "danger", text: "Delete",
      onclick: async () => {
        if (!(await confirmDialog({ title: "Delete contact?", body: `${contact.name} is removed. Roleplays with them stay.`, confirm: "Yes, delete" }))) return;
        try { await api(`/api/v1/contacts/${contact.id}`, { method: "DELETE" }); toast(`Deleted ${contact.name}.`); navigate("/app/contacts"); } catch (error) { fill(messages, errorNotice(error)); }
      },
    }),
  ] : [];
  const view = tabs([
    { id: "roleplay", label: "Roleplay", render: roleplays },
    { id: "details", label: "Details", render: details },
  ], query.get("tab") || "roleplay");
  fill(page,
    pageHeader(contact.name, { crumbs: [["/app/contacts", "Contacts"]], actions }),
    el("p", { class: "muted", text: [contact.title, contact.company].filter(Boolean).join(" at ") }),
    messages,
    el("section", { class: "card" }, view.node),
  );
}
