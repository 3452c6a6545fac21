// The live call page: briefing, then a WebRTC voice call (or a WebSocket chat) with live events.
import { api, clock, el } from "/static/api.js";
import { renderSidebar, whoami } from "/static/app/shell.js";

const sessionId = location.pathname.split("/").filter(Boolean).pop();
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// State the browser tests read: what the page saw and heard.
const live = (window.sparring = { state: "initializing", transcript: [], maxAudioLevel: 0, events: 0, attemptId: null });

let pc = null;
let channel = null;
let socket = null;
let mode = "voice";
let paused = false;
let statsTimer = null;
let personaName = "Persona";

function setStatus(label, state) {
  $("status").textContent = label;
  $("status").dataset.state = state || "";
  if (state) live.state = state;
  $("pause").textContent = state === "paused" ? "Continue" : "Pause";
  paused = state === "paused";
}

function showError(id, message) {
  $(id).textContent = message;
  $(id).hidden = !message;
}

function documentItem(scenarioId, d) {
  const body = el("div", { class: "doc-text", text: "Loading..." });
  const details = el("details", {}, el("summary", { text: d.name }), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const doc = await api(`/api/v1/scenarios/${scenarioId}/documents/${d.id}`);
      body.replaceChildren(
        document.createTextNode(doc.text || "(no text could be read from this file)"),
        el("p", {}, el("a", { href: `/api/v1/scenarios/${scenarioId}/documents/${d.id}/file`, target: "_blank", rel: "noopener", text: "Open the original file" })),
      );
    } catch (error) {
      body.textContent = `Could not open this document: ${error.message}`;
    }
  });
  return el("li", {}, details);
}

async function loadBriefing() {
  try {
    const session = await api(`/api/v1/sessions/${sessionId}`);
    const b = session.briefing || {};
    $("title").textContent = session.kind === "test" ? "Test session" : session.scenario_name !== session.name ? session.scenario_name || "" : "";
    $("call-heading").textContent = session.name || "Live call";
    document.title = `${session.name || "Live call"} · Sparring`;
    $("session-link").textContent = session.name || "Session";
    $("session-link").href = `/app/sessions/${sessionId}`;
    if (b.persona) {
      personaName = b.persona.name.split(" ")[0] || "Persona";
      const who = [b.persona.job_title, b.persona.company].filter(Boolean).join(", ");
      $("persona-summary").textContent = `You are talking to ${b.persona.name}${who ? `, ${who}` : ""}.`;
    }
    $("time-limit").textContent = b.time_limit_minutes ?? "-";
    $("instructions").textContent = b.participant_instructions || "";
    $("goals").replaceChildren(...(b.goals || []).map((g) => el("li", { text: typeof g === "string" ? g : g.description || g.name })));
    $("documents").replaceChildren(...(b.documents || []).map((d) => documentItem(session.scenario_id, d)));
    $("no-documents").hidden = Boolean((b.documents || []).length);
    if (!(b.goals || []).length) $("goals").replaceChildren(el("li", { class: "muted", text: "No goals listed." }));
    if (b.mode === "hybrid") $("mode-picker").hidden = false;
    mode = b.mode === "text" ? "text" : "voice";
  } catch (error) {
    showError("call-error", `Could not load this session: ${error.message}`);
  }
}

function addTurn(turn) {
  live.transcript.push(turn);
  const item = el(
    "li",
    { class: `turn ${turn.speaker}${turn.interrupted ? " interrupted" : ""}`, "data-turn": turn.number },
    el("span", { class: "speaker", text: turn.speaker === "learner" ? "You" : personaName }),
    el("span", { class: "text", text: turn.text }),
    turn.interrupted ? el("span", { class: "mark", text: "interrupted" }) : null,
  );
  $("transcript").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function onEvent(event) {
  live.events += 1;
  switch (event.type) {
    case "call":
      live.attemptId = event.attempt_id;
      break;
    case "state":
      setStatus(event.status, event.state);
      // The final "ended" event can be lost when the server closes the connection right after it; the
      // state change is enough to end the page's call.
      if (event.state === "ended" || event.state === "error") finish({ error: event.state === "error" ? event.error || "" : null });
      break;
    case "timer":
      $("elapsed").textContent = clock(event.elapsed);
      $("remaining").textContent = clock(event.remaining);
      break;
    case "partial_transcript":
      $("partial").textContent = event.text;
      break;
    case "transcript":
      $("partial").textContent = "";
      addTurn(event);
      break;
    case "error":
      showError("call-error", "The persona had a problem; it will try again.");
      break;
    case "ended":
      finish(event);
      break;
  }
}

let finished = false;
function finish(event) {
  if (finished) {
    if (event.error) showError("call-error", event.error);
    return;
  }
  finished = true;
  setStatus(event.error || live.state === "error" ? "Error" : "Ended", event.error || live.state === "error" ? "error" : "ended");
  if (event.error) showError("call-error", event.error);
  $("after").hidden = false;
  $("chat").hidden = true;
  document.querySelector("#call .controls").hidden = true;
  if (live.attemptId) $("review-link").href = `/app/attempts/${live.attemptId}`;
  else $("review-link").href = `/app/sessions/${sessionId}`;
  clearInterval(statsTimer);
  setTimeout(() => pc && pc.close(), 500);
}

function send(message) {
  const text = JSON.stringify(message);
  if (channel && channel.readyState === "open") channel.send(text);
  else if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
  else api(`/api/v1/roleplays/session/${sessionId}/control`, { method: "POST", body: message }).catch(() => {});
}

async function microphone() {
  // Echo cancellation stops the persona's own voice from barging in; tests with a fake WAV
  // microphone may turn the processing off (?raw_audio=1), real calls keep it on.
  const raw = params.get("raw_audio") === "1";
  const constraints = { echoCancellation: !raw, noiseSuppression: !raw, autoGainControl: !raw };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: constraints });
  } catch (error) {
    const blocked = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    showError(
      "mic-error",
      blocked
        ? "Your microphone is blocked. Allow microphone access for this site in the browser's address bar, then reload."
        : `No microphone could be opened (${error.name || error}). Plug one in or choose chat practice.`,
    );
    setStatus("Error", "error");
    throw error;
  }
}

async function iceServers() {
  try {
    return (await api("/api/v1/roleplays/ice-servers")).ice_servers || [];
  } catch {
    return [];
  }
}

async function startVoice() {
  const stream = await microphone();
  setStatus("Connecting...", "connecting");
  pc = new RTCPeerConnection({ iceServers: await iceServers() });
  stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
  channel = pc.createDataChannel("events");
  channel.onmessage = (message) => onEvent(JSON.parse(message.data));
  channel.onclose = () => {
    if (["connecting", "in_session", "paused"].includes(live.state)) {
      showError("call-error", "The connection to the server closed.");
      finish({});
    }
  };
  pc.ontrack = (event) => {
    $("persona-audio").srcObject = event.streams[0] || new MediaStream([event.track]);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "failed") showError("call-error", "The connection to the server failed. Check your network and try again.");
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 3000);
  });
  const answer = await api(`/api/v1/roleplays/session/${sessionId}/offer`, {
    method: "POST",
    body: { sdp: pc.localDescription.sdp, type: "offer", mode },
  });
  live.attemptId = answer.attempt_id;
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  statsTimer = setInterval(async () => {
    const stats = await pc.getStats();
    stats.forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "audio" && typeof report.audioLevel === "number") {
        live.maxAudioLevel = Math.max(live.maxAudioLevel, report.audioLevel);
      }
    });
  }, 250);
}

function startChat() {
  setStatus("Connecting...", "connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/api/v1/roleplays/session/${sessionId}?mode=text`);
  socket.onmessage = (message) => {
    if (typeof message.data === "string") onEvent(JSON.parse(message.data));
  };
  socket.onclose = (event) => {
    if (live.state !== "ended" && live.state !== "error") {
      showError("call-error", event.reason || "The connection closed.");
      finish({});
    }
  };
  $("chat").hidden = false;
  $("chat-input").focus();
}

$("start").addEventListener("click", async () => {
  const picked = document.querySelector("input[name=mode]:checked");
  if (!$("mode-picker").hidden && picked) mode = picked.value;
  $("briefing").hidden = true;
  $("call").hidden = false;
  setStatus("Initializing...", "initializing");
  try {
    if (mode === "text") startChat();
    else await startVoice();
  } catch (error) {
    if ($("mic-error").hidden) showError("call-error", error.message || String(error));
  }
});

$("chat").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-input").value.trim();
  if (!text) return;
  send({ type: "text", text });
  $("chat-input").value = "";
});

$("pause").addEventListener("click", () => send({ type: paused ? "resume" : "pause" }));
$("end").addEventListener("click", () => $("confirm-end").showModal());
$("confirm-no").addEventListener("click", () => $("confirm-end").close());
$("confirm-yes").addEventListener("click", () => {
  $("confirm-end").close();
  send({ type: "end" });
});
$("report").addEventListener("click", () => $("report-dialog").showModal());
$("report-cancel").addEventListener("click", () => $("report-dialog").close());
$("report-send").addEventListener("click", async () => {
  const reason = $("report-reason").value.trim();
  if (!reason || !live.attemptId) return;
  try {
    await api(`/api/v1/attempts/${live.attemptId}/problems`, { method: "POST", body: { reason } });
    $("report-dialog").close();
    $("report").textContent = "Problem reported";
    $("report").disabled = true;
  } catch (error) {
    showError("call-error", `Could not send the report: ${error.message}`);
  }
});

// Leaving the page ends the call: ask first while it is live.
window.addEventListener("beforeunload", (event) => {
  if (["connecting", "in_session", "paused"].includes(live.state)) {
    event.preventDefault();
    event.returnValue = "";
  }
});

whoami()
  .then((me) => renderSidebar($("sidebar"), me, location.pathname))
  .catch(() => {});
loadBriefing();
if (params.get("autostart") === "1") $("start").click();
