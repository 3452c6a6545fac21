// Shared pieces of the web app: formatting, notices, confirm dialogs, tables, pagination, tabs, wizards, chips.
import { el } from "/static/api.js";

export { el };

/** replaceChildren without the "null" text nodes that optional (null/false) children would become. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

let uid = 0;
export const nextId = (prefix = "f") => `${prefix}-${++uid}`;

export function humanize(value) {
  const text = String(value ?? "").replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function fmtDate(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "-" : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function fmtDateTime(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "-" : d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function fmtScore(value) {
  return value === null || value === undefined ? "-" : `${Math.round(Number(value))}`;
}

export function pct(value) {
  return value === null || value === undefined ? "-" : `${Math.round(Number(value) * 100)}%`;
}

export function seconds(value) {
  const s = Math.max(0, Math.floor(Number(value) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const SESSION_STATUS = { to_do: "To do", completed: "Completed", overdue: "Overdue" };
const ATTEMPT_STATUS = {
  initializing: ["Not started", ""], connecting: ["In progress", "warn"], in_session: ["In progress", "warn"],
  paused: ["Paused", "warn"], ended: ["Evaluating", "evaluating"], evaluating: ["Evaluating", "evaluating"],
  completed: ["Completed", "completed"], error: ["Error", "error"],
};

export function sessionBadge(status) {
  return el("span", { class: `badge ${status}`, text: SESSION_STATUS[status] || humanize(status) });
}

export function attemptBadge(state) {
  const [label, cls] = ATTEMPT_STATUS[state] || [humanize(state), ""];
  return el("span", { class: `badge ${cls}`, text: label });
}

export function notice(message, kind = "") {
  return el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status", text: message });
}

export function errorNotice(error, prefix = "") {
  const box = el("div", { class: "notice error", role: "alert" }, el("strong", { text: `${prefix}${error.message || error}` }));
  if (error.missing && error.missing.length) {
    box.append(el("ul", { class: "missing" }, error.missing.map((m) => el("li", { text: m.message || m.field }))));
  }
  return box;
}

let toastTimer = null;
export function toast(message, kind = "") {
  document.querySelectorAll(".toast").forEach((t) => t.remove());
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", text: message });
  document.body.append(node);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
}

export function loading(text = "Loading...") {
  return el("p", { class: "loading", role: "status", text });
}

/** A modal <dialog> that is removed when closed. `build(dialog, close)` fills it. */
export function modal({ title, wide = false, build }) {
  const titleId = nextId("dlg");
  const dialog = el("dialog", { class: wide ? "wide" : "", "aria-labelledby": titleId });
  const close = (value) => {
    dialog.returnValue = value ?? "";
    if (dialog.open) dialog.close();
  };
  dialog.append(el("h2", { id: titleId, text: title }));
  dialog.addEventListener("close", () => setTimeout(() => dialog.remove(), 0));
  document.body.append(dialog);
  build(dialog, close);
  dialog.showModal();
  return dialog;
}

/** Resolves true when the person confirms. */
export function confirmDialog({ title, body = "", confirm = "Yes", cancel = "Cancel", danger = true }) {
  return new Promise((resolve) => {
    let answer = false;
    const dialog = modal({
      title,
      build(d, close) {
        if (body) d.append(el("p", { text: body }));
        d.append(
          el("div", { class: "controls" },
            el("button", { type: "button", text: cancel, onclick: () => close("no") }),
            el("button", { type: "button", class: danger ? "danger" : "primary", text: confirm, onclick: () => { answer = true; close("yes"); } }),
          ),
        );
      },
    });
    dialog.addEventListener("close", () => resolve(answer));
  });
}

/** A labelled control: returns [label, control] wrapped in a div. */
export function field(labelText, control, hint, cls = "") {
  if (!control.id) control.id = nextId("f");
  const wrap = el("div", { class: `field ${cls}`.trim() }, el("label", { for: control.id, text: labelText }), control);
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    wrap.append(el("p", { class: "hint", id: hintId, text: hint }));
  }
  return wrap;
}

export function select(options, value, attrs = {}) {
  const node = el("select", attrs);
  for (const option of options) {
    const [v, label] = Array.isArray(option) ? option : [option, humanize(option)];
    node.append(el("option", { value: v, selected: String(v) === String(value ?? "") ? true : undefined, text: label }));
  }
  return node;
}

export function textarea(value = "", attrs = {}) {
  const node = el("textarea", { rows: 3, ...attrs });
  node.value = value || "";
  return node;
}

export function input(value = "", attrs = {}) {
  const node = el("input", { type: "text", ...attrs });
  node.value = value ?? "";
  return node;
}

export const lines = (text) => String(text || "").split("\n").map((s) => s.trim()).filter(Boolean);

/**
 * A data table. columns: [{ key, label, sort (sort key or false), num, render(row) }].
 * On phones each row becomes a card (td data-label).
 */
export function dataTable({ columns, rows, sort, order, onSort, caption, empty = "Nothing here yet." }) {
  const table = el("table", { class: "data stack" });
  if (caption) table.append(el("caption", { class: "visually-hidden", text: caption }));
  const head = el("tr");
  for (const col of columns) {
    const th = el("th", { scope: "col", class: col.num ? "num" : "" });
    if (col.sort && onSort) {
      const active = sort === col.sort;
      th.setAttribute("aria-sort", active ? (order === "asc" ? "ascending" : "descending") : "none");
      th.append(
        el("button", {
          type: "button", class: "sort", text: col.label,
          onclick: () => onSort(col.sort, active && order === "asc" ? "desc" : active ? "asc" : col.firstOrder || "asc"),
        }),
      );
    } else {
      th.textContent = col.label;
    }
    head.append(th);
  }
  const body = el("tbody");
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: columns.length, class: "empty", text: empty })));
  }
  for (const row of rows) {
    const tr = el("tr");
    for (const col of columns) {
      const value = col.render ? col.render(row) : row[col.key];
      tr.append(el("td", { "data-label": col.label, class: col.num ? "num" : "" }, value ?? "-"));
    }
    body.append(tr);
  }
  table.append(el("thead", {}, head), body);
  return el("div", { class: "table-wrap" }, table);
}

export function pager({ page, pageSize, total, onPage }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const from = total ? (page - 1) * pageSize + 1 : 0;
  const to = Math.min(total, page * pageSize);
  return el(
    "nav", { class: "pager", "aria-label": "Pagination" },
    el("span", { class: "muted small", text: `${from}-${to} of ${total}` }),
    el("button", { type: "button", class: "small", disabled: page <= 1 ? true : undefined, text: "Previous", "aria-label": "Previous page", onclick: () => onPage(page - 1) }),
    el("span", { class: "small", "aria-current": "page", text: `Page ${page} of ${pages}` }),
    el("button", { type: "button", class: "small", disabled: page >= pages ? true : undefined, text: "Next", "aria-label": "Next page", onclick: () => onPage(page + 1) }),
  );
}

/** ARIA tabs with arrow-key navigation. tabs: [{ id, label, render(panel) }]. */
export function tabs(list, selected, onSelect) {
  const base = nextId("tabs");
  const bar = el("div", { role: "tablist" });
  const panel = el("div", { role: "tabpanel", tabindex: "0" });
  const buttons = list.map((tab) =>
    el("button", {
      type: "button", role: "tab", id: `${base}-${tab.id}`, "aria-controls": `${base}-panel`, text: tab.label,
      onclick: () => show(tab.id, true),
    }),
  );
  panel.id = `${base}-panel`;
  bar.append(...buttons);
  bar.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = buttons.length - 1;
    if (next === null) return;
    event.preventDefault();
    buttons[next].focus();
    show(list[next].id, true);
  });
  let current = null;
  function show(id, byUser) {
    const tab = list.find((t) => t.id === id) || list[0];
    current = tab.id;
    buttons.forEach((b, i) => {
      const on = list[i].id === tab.id;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    });
    panel.setAttribute("aria-labelledby", `${base}-${tab.id}`);
    panel.replaceChildren();
    tab.render(panel);
    if (byUser && onSelect) onSelect(tab.id);
  }
  const node = el("div", { class: "tabs" }, bar, panel);
  show(selected, false);
  return { node, show: (id) => show(id, false), get current() { return current; } };
}

/** Tags as chips: type and press Enter or comma to add, Backspace or x to remove; known tags suggested. */
export function chipsEditor({ value = [], suggestions = [], label = "Tags" }) {
  const tags = [...value];
  const inputId = nextId("tags");
  const box = el("div", { class: "chips-editor" });
  const entry = el("input", { type: "text", id: inputId, autocomplete: "off", placeholder: "Add a tag and press Enter", maxlength: 40 });
  const picks = el("div", { class: "suggestions", role: "group", "aria-label": "Add an existing tag" });
  const add = (raw) => {
    const tag = String(raw).trim().replace(/\s+/g, " ");
    if (!tag || tags.some((t) => t.toLowerCase() === tag.toLowerCase())) return;
    tags.push(tag);
    draw();
  };
  const draw = () => {
    box.replaceChildren(
      ...tags.map((tag, i) =>
        el("span", { class: "chip-item" }, tag,
          el("button", { type: "button", "aria-label": `Remove tag ${tag}`, text: "\u00d7", onclick: () => { tags.splice(i, 1); draw(); entry.focus(); } }),
        ),
      ),
      entry,
    );
    const left = suggestions.filter((s) => !tags.some((t) => t.toLowerCase() === s.toLowerCase()));
    picks.replaceChildren(...left.slice(0, 12).map((s) => el("button", { type: "button", class: "small", text: `+ ${s}`, onclick: () => { add(s); entry.focus(); } })));
    picks.hidden = !left.length;
  };
  entry.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      add(entry.value);
      entry.value = "";
    } else if (event.key === "Backspace" && !entry.value && tags.length) {
      tags.pop();
      draw();
    }
  });
  entry.addEventListener("blur", () => { if (entry.value.trim()) { add(entry.value); entry.value = ""; } });
  draw();
  const node = el("div", { class: "field" }, el("label", { for: inputId, text: label }), box, picks);
  return { node, get value() { if (entry.value.trim()) { add(entry.value); entry.value = ""; } return [...tags]; } };
}

/**
 * A multi-step form. steps: [{ title, render(container, data), collect?(data) -> error string or "" }].
 * `finish(data)` runs on the last step's button; it may throw an Error shown in the dialog.
 */
export function wizard({ steps, data, finishLabel = "Save", finish, onCancel }) {
  let index = 0;
  const list = el("ol", { class: "steps" });
  const body = el("div", { class: "step-body" });
  const status = el("div", { "aria-live": "polite" });
  const back = el("button", { type: "button", text: "Back" });
  const next = el("button", { type: "button", class: "primary" });
  const cancel = el("button", { type: "button", text: "Cancel", onclick: () => onCancel && onCancel() });
  const nav = el("div", { class: "wizard-nav" }, el("div", { class: "controls" }, cancel, back), el("div", { class: "controls" }, next));
  const form = el("form", { novalidate: true }, list, body, status, nav);
  const draw = () => {
    list.replaceChildren(
      ...steps.map((s, i) =>
        el("li", { class: i < index ? "done" : "", "aria-current": i === index ? "step" : undefined, text: s.title }),
      ),
    );
    body.replaceChildren(el("h3", { text: `Step ${index + 1} of ${steps.length}: ${steps[index].title}` }));
    steps[index].render(body, data);
    back.disabled = index === 0;
    next.textContent = index === steps.length - 1 ? finishLabel : "Next";
    status.replaceChildren();
    const first = body.querySelector("input, select, textarea");
    if (first) first.focus();
  };
  const collect = () => {
    const problem = steps[index].collect ? steps[index].collect(data) : "";
    if (problem) {
      status.replaceChildren(notice(problem, "error"));
      return false;
    }
    return true;
  };
  back.addEventListener("click", () => {
    if (steps[index].collect) steps[index].collect(data);
    index = Math.max(0, index - 1);
    draw();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!collect()) return;
    if (index < steps.length - 1) {
      index += 1;
      draw();
      return;
    }
    next.disabled = true;
    status.replaceChildren(loading("Saving..."));
    try {
      await finish(data);
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(errorNotice(error));
    } finally {
      next.disabled = false;
    }
  });
  next.type = "submit";
  form.addEventListener("change", () => { if (status.querySelector(".notice.error")) status.replaceChildren(); });
  draw();
  return { node: form, goTo: (i) => { index = i; draw(); }, get index() { return index; } };
}

/** A small "Actions" menu (a disclosure: Enter or Space opens it, Escape closes it). items: nodes. */
export function menu(label, items, ariaLabel) {
  const present = items.filter(Boolean);
  const box = el("details", { class: "menu" }, el("summary", { class: "button small", "aria-label": ariaLabel || label, text: label }), el("div", { class: "menu-items" }, present));
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && box.open) { box.open = false; box.querySelector("summary").focus(); }
  });
  box.addEventListener("click", (event) => { if (event.target.closest(".menu-items button, .menu-items a")) box.open = false; });
  return box;
}
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((m) => { if (!m.contains(event.target)) m.open = false; });
});

export function debounce(fn, ms = 300) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function link(href, text, attrs = {}) {
  return el("a", { href, ...attrs, text });
}

export function pageHeader(title, { crumbs = [], actions = [] } = {}) {
  const head = el("div", {});
  if (crumbs.length) {
    head.append(el("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, crumbs.flatMap(([href, text], i) => [i ? " / " : "", link(href, text)])));
  }
  head.append(el("h1", { tabindex: "-1", text: title }));
  return el("div", { class: "page-header" }, head, el("div", { class: "actions" }, actions));
}
