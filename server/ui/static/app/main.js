// The single-page app: who is signed in, the left navigation, and a small history router. Each view module
// exports `render(ctx)`; it fills ctx.page and may return a cleanup function (timers, audio) run on leave.
import { el } from "/static/api.js";
import { markCurrent, renderSidebar, whoami } from "/static/app/shell.js";
import { errorNotice } from "/static/app/ui.js";

const ROUTES = [
  ["/app", () => ({ redirect: "/app/training" })],
  ["/app/training", () => import("/static/app/training.js")],
  ["/app/sessions/:id", () => import("/static/app/session.js")],
  ["/app/attempts/:id", () => import("/static/app/attempt.js")],
  ["/app/contacts", () => import("/static/app/contacts.js"), "list"],
  ["/app/contacts/:id", () => import("/static/app/contacts.js"), "detail"],
  ["/app/scenarios", () => import("/static/app/scenarios.js"), "list"],
  ["/app/scenarios/new", () => import("/static/app/scenario_form.js"), "new"],
  ["/app/scenarios/:id/edit", () => import("/static/app/scenario_form.js"), "edit"],
  ["/app/scenarios/:id", () => import("/static/app/scenario_detail.js")],
  ["/app/leaderboard", () => import("/static/app/leaderboard.js")],
  ["/app/report", () => import("/static/app/report.js")],
  ["/app/settings", () => import("/static/app/settings.js")],
];

const page = document.getElementById("page");
const sidebar = document.getElementById("sidebar");
let me = null;
let cleanup = null;
let renderToken = 0;

function match(path) {
  const parts = path.replace(/\/+$/, "").split("/").filter(Boolean);
  for (const [pattern, load, variant] of ROUTES) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    want.forEach((seg, i) => {
      if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(parts[i]);
      else if (seg !== parts[i]) ok = false;
    });
    if (ok) return { load, params, variant };
  }
  return null;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  route();
}

async function route() {
  const token = ++renderToken;
  if (cleanup) {
    try { cleanup(); } catch { /* a view's cleanup never blocks navigation */ }
    cleanup = null;
  }
  document.querySelectorAll("dialog[open]").forEach((d) => d.close());
  const path = location.pathname;
  markCurrent(sidebar, path);
  const found = match(path);
  if (!found) {
    page.replaceChildren(el("h1", { text: "Page not found" }), el("p", {}, "There is nothing at this address. ", el("a", { href: "/app/training", text: "Go to Roleplay Training" })));
    return;
  }
  const loaded = await found.load();
  if (loaded.redirect) return navigate(loaded.redirect, { replace: true });
  if (token !== renderToken) return;
  const query = new URLSearchParams(location.search);
  const ctx = {
    me, params: found.params, variant: found.variant, query, navigate, token,
    page, current: () => token === renderToken,
    setTitle: (title) => { document.title = `${title} · Sparring`; },
  };
  page.replaceChildren(el("p", { class: "loading", role: "status", text: "Loading..." }));
  try {
    const result = await loaded.render(ctx);
    if (token !== renderToken) {
      if (typeof result === "function") result();
      return;
    }
    cleanup = typeof result === "function" ? result : null;
  } catch (error) {
    if (token !== renderToken) return;
    page.replaceChildren(el("h1", { text: "Something went wrong" }), errorNotice(error, "This page could not be loaded: "));
  }
  const heading = page.querySelector("h1");
  if (heading && !document.querySelector("dialog[open]")) heading.focus({ preventScroll: true });
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/app")) return;
  event.preventDefault();
  if (url.pathname + url.search === location.pathname + location.search) return;
  navigate(url.pathname + url.search + url.hash);
  window.scrollTo(0, 0);
});

window.addEventListener("popstate", route);

async function start() {
  try {
    me = await whoami();
  } catch (error) {
    page.replaceChildren(errorNotice(error, "Could not load your account: "));
    return;
  }
  window.sparringApp = { me };
  renderSidebar(sidebar, me, location.pathname);
  await route();
}

start();
