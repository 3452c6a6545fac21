const form = document.getElementById("login");
const error = document.getElementById("error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { email: form.email.value.trim(), password: form.password.value };
  if (form.workspace.value.trim()) body.workspace = form.workspace.value.trim();
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    error.textContent = typeof data.detail === "string" ? data.detail : "Sign-in failed: check your email and password.";
    error.hidden = false;
    return;
  }
  const next = new URLSearchParams(location.search).get("next");
  location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/app";
});
