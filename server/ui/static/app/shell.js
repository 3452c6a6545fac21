// The left navigation, shared by the single-page app and the live call page.
import { api, el } from "/static/api.js";

export const NAV = [
  { href: "/app/training", label: "Roleplay Training", roles: ["admin", "member", "read_only"] },
  { href: "/app/scenarios", label: "Roleplay Scenarios", roles: ["admin", "member", "read_only"] },
  { href: "/app/contacts", label: "Contacts", roles: ["admin", "member", "read_only"] },
  { href: "/app/leaderboard", label: "Leaderboard", roles: ["admin", "member"] },
  { href: "/app/report", label: "Report", roles: ["admin", "member"] },
  { href: "/app/settings", label: "Settings", roles: ["admin"] },
];

const ROLE_LABEL = { admin: "Admin", member: "Member", read_only: "Read-only" };

export async function whoami() {
  return api("/api/v1/auth/me");
}

export function renderSidebar(container, me, currentPath) {
  const nav = el("nav", { class: "nav", "aria-label": "Main", id: "main-nav" });
  for (const item of NAV.filter((n) => n.roles.includes(me.role))) {
    nav.append(el("a", { href: item.href, text: item.label }));
  }
  const toggle = el("button", {
    type: "button", class: "menu-toggle small", "aria-controls": "main-nav", "aria-expanded": "false", text: "Menu",
    onclick: () => {
      const open = container.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    },
  });
  const signOut = el("button", {
    type: "button", class: "small", text: "Sign out",
    onclick: async () => {
      try { await api("/api/v1/auth/logout", { method: "POST" }); } catch { /* signed out either way */ }
      location.href = "/login";
    },
  });
  container.replaceChildren(
    el("a", { href: "/app/training", class: "brand", text: "Sparring" }),
    toggle,
    nav,
    el("div", { class: "whoami" },
      el("div", { class: "name", text: me.name || me.email }),
      el("div", { class: "muted", text: `${ROLE_LABEL[me.role] || me.role} · ${me.workspace}` }),
      signOut,
    ),
  );
  markCurrent(container, currentPath);
}

export function markCurrent(container, path) {
  for (const a of container.querySelectorAll(".nav a")) {
    const on = path === a.getAttribute("href") || path.startsWith(`${a.getAttribute("href")}/`)
      || (a.getAttribute("href") === "/app/training" && (path.startsWith("/app/sessions") || path.startsWith("/app/attempts") || path.startsWith("/call/")));
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  container.classList.remove("open");
}
