// Settings (admins): workspace name, users and roles, retention, API keys, and read-only views of the ICE
// servers, the model profile and the audit log.
import { api, el } from "/static/api.js";
import { confirmDialog, dataTable, errorNotice, field, fmtDate, fmtDateTime, input, modal, notice, pageHeader, pager, select, toast, fill } from "/static/app/ui.js";

const ROLES = [["admin", "Admin"], ["member", "Member"], ["read_only", "Read-only"]];

export async function render(ctx) {
  const { me, page } = ctx;
  ctx.setTitle("Settings");
  if (me.role !== "admin") {
    fill(page, pageHeader("Settings"), notice("Only admins can change the workspace settings.", "error"));
    return;
  }
  const sections = {
    workspace: el("section", { class: "card", "aria-labelledby": "s-ws" }),
    users: el("section", { class: "card", "aria-labelledby": "s-users" }),
    retention: el("section", { class: "card", "aria-labelledby": "s-ret" }),
    keys: el("section", { class: "card", "aria-labelledby": "s-keys" }),
    live: el("section", { class: "card", "aria-labelledby": "s-live" }),
    audit: el("section", { class: "card", "aria-labelledby": "s-audit" }),
  };
  fill(page, pageHeader("Settings"), ...Object.values(sections));
  await Promise.all([workspace(sections.workspace), users(sections.users, me), retention(sections.retention), keys(sections.keys), live(sections.live), audit(sections.audit)]);
}

async function workspace(box) {
  try {
    const ws = await api("/api/v1/workspace");
    const name = input(ws.name, { name: "workspace_name", maxlength: 200 });
    const status = el("div", { "aria-live": "polite" });
    const form = el("form", {}, field("Workspace name", name, `Sign-in name: ${ws.slug}`), status, el("button", { type: "submit", text: "Rename" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api("/api/v1/workspace", { method: "PATCH", body: { name: name.value.trim() } }); fill(status, notice("Saved.", "ok")); } catch (error) { fill(status, errorNotice(error)); }
    });
    fill(box, el("h2", { id: "s-ws", text: "Workspace" }), form);
  } catch (error) { fill(box, el("h2", { id: "s-ws", text: "Workspace" }), errorNotice(error)); }
}

async function users(box, me) {
  const status = el("div", { "aria-live": "polite" });
  const draw = async () => {
    try {
      const rows = await api("/api/v1/users?include_inactive=true");
      const update = async (user, body, done) => {
        try { await api(`/api/v1/users/${user.id}`, { method: "PATCH", body }); toast(done); draw(); } catch (error) { fill(status, errorNotice(error)); draw(); }
      };
      fill(box,
        el("div", { class: "page-header" }, el("h2", { id: "s-users", text: "Users and roles" }), el("button", { type: "button", class: "primary", text: "Add user", onclick: () => addUser(draw) })),
        status,
        dataTable({
          caption: "Users",
          columns: [
            { label: "Name", render: (u) => u.name || "-" },
            { label: "Email", render: (u) => u.email },
            {
              label: "Role",
              render: (u) => {
                const s = select(ROLES, u.role, { "aria-label": `Role of ${u.email}`, disabled: u.id === me.id ? true : undefined });
                s.addEventListener("change", () => update(u, { role: s.value }, `${u.email} is now ${s.selectedOptions[0].textContent}.`));
                return s;
              },
            },
            { label: "Status", render: (u) => el("span", { class: `badge ${u.active ? "ok" : ""}`, text: u.active ? "Active" : "Deactivated" }) },
            { label: "Since", render: (u) => fmtDate(u.created_at) },
            {
              label: "Actions",
              render: (u) => (u.id === me.id ? el("span", { class: "muted small", text: "You" }) : u.active
                ? el("button", { type: "button", class: "small danger", text: "Deactivate", "aria-label": `Deactivate ${u.email}`, onclick: async () => { if (await confirmDialog({ title: "Deactivate user?", body: `${u.email} can no longer sign in. Their history is kept.`, confirm: "Yes, deactivate" })) update(u, { active: false }, `${u.email} deactivated.`); } })
                : el("button", { type: "button", class: "small", text: "Reactivate", "aria-label": `Reactivate ${u.email}`, onclick: () => update(u, { active: true }, `${u.email} reactivated.`) })),
            },
          ],
          rows,
        }),
      );
    } catch (error) { fill(box, el("h2", { id: "s-users", text: "Users and roles" }), errorNotice(error)); }
  };
  await draw();
}

function addUser(done) {
  modal({
    title: "Add user",
    build(dialog, close) {
      const email = input("", { type: "email", name: "email", required: true });
      const name = input("", { name: "name" });
      const role = select(ROLES, "member", { name: "role" });
      const password = input("", { type: "password", name: "password", autocomplete: "new-password", minlength: 8 });
      const status = el("div", { "aria-live": "polite" });
      const form = el("form", { novalidate: true }, field("Email", email), field("Name", name), field("Role", role),
        field("Password (optional)", password, "At least 8 characters. Leave empty for single sign-on or to set it later."), status,
        el("div", { class: "controls" }, el("button", { type: "button", text: "Cancel", onclick: () => close() }), el("button", { type: "submit", class: "primary", text: "Add user" })));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const body = { email: email.value.trim(), role: role.value };
        if (name.value.trim()) body.name = name.value.trim();
        if (password.value) body.password = password.value;
        try { const u = await api("/api/v1/users", { method: "POST", body }); close("ok"); toast(`Added ${u.email}.`); done(); } catch (error) { fill(status, errorNotice(error)); }
      });
      dialog.append(form);
    },
  });
}

async function retention(box) {
  try {
    const { retention: r } = await api("/api/v1/workspace/settings");
    const kinds = [["audio_days", "Call recordings (audio)"], ["event_log_days", "Event logs"], ["video_days", "Video recordings"], ["transcript_days", "Transcripts"], ["evaluation_days", "Scores and coach feedback"]];
    const inputs = Object.fromEntries(kinds.map(([k]) => [k, input(r[k] === null ? "" : String(r[k]), { type: "number", min: 1, name: k, placeholder: "Keep indefinitely" })]));
    const status = el("div", { "aria-live": "polite" });
    const form = el("form", {}, el("div", { class: "grid three" }, kinds.map(([k, label]) => field(`${label}: days`, inputs[k]))),
      el("p", { class: "hint", text: "Empty keeps that kind indefinitely. Changes apply at the next purge." }), status, el("button", { type: "submit", text: "Save retention" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = Object.fromEntries(kinds.map(([k]) => [k, inputs[k].value === "" ? null : Number(inputs[k].value)]));
      try { await api("/api/v1/workspace/settings", { method: "PATCH", body: { retention: body } }); fill(status, notice("Retention saved.", "ok")); } catch (error) { fill(status, errorNotice(error)); }
    });
    fill(box, el("h2", { id: "s-ret", text: "Retention" }), form);
  } catch (error) { fill(box, el("h2", { id: "s-ret", text: "Retention" }), errorNotice(error)); }
}

async function keys(box) {
  const status = el("div", { "aria-live": "polite" });
  const draw = async () => {
    try {
      const rows = await api("/api/v1/auth/api-keys");
      const name = input("", { name: "key_name", maxlength: 200, placeholder: "e.g. LMS integration" });
      const form = el("form", { class: "toolbar" }, field("New key name", name, "", "grow"), el("button", { type: "submit", text: "Create API key" }));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        if (!name.value.trim()) { fill(status, notice("Name the key first.", "error")); return; }
        try {
          const created = await api("/api/v1/auth/api-keys", { method: "POST", body: { name: name.value.trim() } });
          await draw();
          fill(status, el("div", { class: "notice ok", role: "status" }, "Copy this key now; it is not shown again: ", el("code", { text: created.key })));
        } catch (error) { fill(status, errorNotice(error)); }
      });
      fill(box, el("h2", { id: "s-keys", text: "API keys" }), el("p", { class: "muted small", text: "Programs call the API with Authorization: Bearer <key>." }), status,
        dataTable({
          caption: "API keys",
          columns: [
            { label: "Name", render: (k) => k.name }, { label: "Prefix", render: (k) => el("code", { text: k.prefix }) },
            { label: "Created", render: (k) => fmtDate(k.created_at) }, { label: "Last used", render: (k) => fmtDateTime(k.last_used_at) },
            {
              label: "Status",
              render: (k) => (k.revoked_at ? el("span", { class: "badge", text: "Revoked" }) : el("button", {
                type: "button", class: "small danger", text: "Revoke", "aria-label": `Revoke key ${k.name} (${k.prefix})`,
                onclick: async () => {
                  if (!(await confirmDialog({ title: "Revoke API key?", body: `Programs using "${k.name}" stop working.`, confirm: "Yes, revoke" }))) return;
                  try { await api(`/api/v1/auth/api-keys/${k.id}`, { method: "DELETE" }); toast("Key revoked."); draw(); } catch (error) { fill(status, errorNotice(error)); }
                },
              })),
            },
          ],
          rows, empty: "No API keys.",
        }), form);
    } catch (error) { fill(box, el("h2", { id: "s-keys", text: "API keys" }), errorNotice(error)); }
  };
  await draw();
}

async function live(box) {
  const [ice, health] = await Promise.all([
    api("/api/v1/roleplays/ice-servers").catch((e) => ({ error: e })),
    fetch("/healthz", { credentials: "same-origin" }).then((r) => r.json()).catch((e) => ({ error: e })),
  ]);
  const servers = ice.ice_servers || [];
  const backends = Object.entries(health.backends || {});
  fill(box,
    el("h2", { id: "s-live", text: "Live calls and models (read-only)" }),
    el("h3", { text: "ICE servers" }),
    ice.error ? errorNotice(ice.error) : servers.length
      ? el("ul", {}, servers.map((s) => el("li", {}, [].concat(s.urls || s.url || []).join(", "), s.username ? el("span", { class: "muted", text: ` (user ${s.username})` }) : null)))
      : el("p", { class: "muted", text: "None configured: calls connect directly (host candidates). Configure STUN/TURN in the server settings." }),
    el("h3", { text: "Model profile" }),
    health.error ? errorNotice(health.error) : el("div", {},
      el("p", {}, "Profile: ", el("strong", { text: health.profile || "-" })),
      backends.length ? dataTable({
        caption: "Model backends",
        columns: [{ label: "Role", render: ([role]) => role.replace(/_/g, " ") }, { label: "Backend", render: ([, b]) => b.backend || "-" }, { label: "Model", render: ([, b]) => el("span", { class: "small", style: "overflow-wrap:anywhere", text: String(b.model || "-").split("/").pop() }) }],
        rows: backends,
      }) : el("p", { class: "muted", text: "No model backends loaded in this process." })),
  );
}

async function audit(box) {
  let pageNo = 1;
  const draw = async () => {
    try {
      const data = await api(`/api/v1/audit?page=${pageNo}&page_size=10`);
      fill(box, el("h2", { id: "s-audit", text: "Audit log" }),
        dataTable({
          caption: "Audit log",
          columns: [
            { label: "When", render: (a) => fmtDateTime(a.created_at) }, { label: "Who", render: (a) => a.actor_name || "-" },
            { label: "Action", render: (a) => a.action }, { label: "Details", render: (a) => el("span", { class: "small muted", text: Object.entries(a.details || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ") || a.target }) },
          ],
          rows: data.items, empty: "Nothing recorded yet.",
        }),
        pager({ page: pageNo, pageSize: 10, total: data.total, onPage: (p) => { pageNo = p; draw(); } }));
    } catch (error) { fill(box, el("h2", { id: "s-audit", text: "Audit log" }), errorNotice(error)); }
  };
  await draw();
}
