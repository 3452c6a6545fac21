// Small helpers shared by the pages: API calls with the CSRF header, escaping, formatting.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|; )sparring_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body, form } = {}) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error("signed out");
  }
  const text = await response.text();
  const data = text ? safeJson(text) : null;
  if (!response.ok) {
    const detail = data && data.detail;
    const message = typeof detail === "string" ? detail : detail && detail.message ? detail.message : Array.isArray(detail) ? detail.map(validationText).join("; ") : `${response.status} ${response.statusText}`;
    const error = new Error(message);
    error.status = response.status;
    error.data = data;
    error.missing = data && Array.isArray(data.missing) ? data.missing : [];
    throw error;
  }
  return data;
}

// A pydantic validation error as a reader would say it: "time_limit_minutes: Input should be 5, 10, 15 or 30".
function validationText(item) {
  const where = (item.loc || []).filter((part) => part !== "body" && part !== "query").join(".");
  const msg = String(item.msg || "").replace(/^Value error, /, "");
  return where ? `${where}: ${msg}` : msg;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return text; }
}

export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
