// The operator console: sign in, live calls (paged, filtered by room, updated from the live
// feed), one call's timeline, and actions that go through the /ops routes after a confirmation.
import { Problem, follow, request, session } from "./api.js";
import { audienceWords, draw, shortId, time } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const ROLES = ["Presenter", "Attendee", "Consumer", "Collaborator"];

const state = {
  cursors: [null], // cursor of each page seen so far; the last is the current page's
  next: null,
  openCall: null,
  timeline: null,
  feed: null,
  refresh: null,
  recordingStop: false,
};

function node(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

function show(element, visible) {
  element.hidden = !visible;
}

// Who a raw id is, in the words of the open call's participant list.
function names(rawId) {
  const found = state.timeline?.call.participants.find((p) => p.rawId === rawId);
  const base = shortId(rawId);
  return found?.role ? `${base} (${found.role})` : base;
}

// ---- sign in / out

async function signIn(key) {
  const error = $("sign-in-error");
  show(error, false);
  try {
    await request("GET", "/ops/calls?limit=1", { key });
  } catch (problem) {
    error.textContent =
      problem.status === 401 || problem.status === 403
        ? `Refused: ${problem.detail || problem.title}`
        : `Cannot sign in: ${problem.message}`;
    show(error, true);
    $("ops-key").focus();
    return;
  }
  session.key = key;
  enter();
}

function enter() {
  show($("sign-in"), false);
  show($("workspace"), true);
  show($("sign-out"), true);
  $("ops-key").value = "";
  state.feed = new AbortController();
  follow(state.feed.signal, onNotice, onFeedState);
  detectRecording();
  loadCalls();
}

function signOut(message) {
  session.key = null;
  state.feed?.abort();
  state.openCall = null;
  show($("workspace"), false);
  show($("detail"), false);
  show($("sign-out"), false);
  show($("sign-in"), true);
  setLive("Signed out", "");
  if (message) {
    $("sign-in-error").textContent = message;
    show($("sign-in-error"), true);
  }
  $("ops-key").focus();
}

function setLive(text, kind) {
  const live = $("live");
  live.textContent = text;
  live.className = `live ${kind}`;
}

function onFeedState(kind, problem) {
  if (kind === "on") setLive("Live", "on");
  else if (kind === "refused") signOut(`Signed out: ${problem.detail || problem.title}`);
  else setLive("Reconnecting…", "off");
}

// ---- live updates: a notice means "read again"; bursts become one refresh

function onNotice(notice) {
  clearTimeout(state.refresh);
  state.refresh = setTimeout(() => {
    loadCalls();
    if (state.openCall && (!notice.callConnectionId || notice.callConnectionId === state.openCall)) {
      loadTimeline(state.openCall);
    }
  }, 150);
}

// ---- live calls

async function loadCalls() {
  const filter = $("room-filter").value.trim();
  const cursor = state.cursors[state.cursors.length - 1];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) query.set("cursor", cursor);
  if (filter) query.set("roomId", filter);
  let answer;
  try {
    answer = await request("GET", `/ops/calls?${query}`);
  } catch (problem) {
    if (problem.status === 401 || problem.status === 403) return signOut(`Signed out: ${problem.detail}`);
    $("calls-error").textContent = `Cannot list calls: ${problem.message}`;
    show($("calls-error"), true);
    return;
  }
  show($("calls-error"), false);
  const total = Number(answer.headers.get("X-Total-Count") || answer.body.length);
  const link = answer.headers.get("Link") || "";
  const next = /cursor=([^&>]+)/.exec(link);
  state.next = next ? decodeURIComponent(next[1]) : null;
  renderCalls(answer.body, total);
}

function person(p) {
  const flags = [p.isMuted ? "muted" : null, p.isOnHold ? "on hold" : null].filter(Boolean);
  return node(
    "li",
    { class: "person", title: p.rawId },
    `${shortId(p.rawId)} · `,
    node("span", { class: "role" }, p.role || (p.kind === "phoneNumber" ? "phone" : "no role")),
    ` · ${p.kind === "phoneNumber" ? "phone" : p.kind === "communicationUser" ? "user" : p.kind}`,
    flags.length ? node("span", { class: "flag" }, ` · ${flags.join(", ")}`) : null,
  );
}

function renderCalls(calls, total) {
  const body = $("calls-table").tBodies[0];
  // A re-render must not take the keyboard's place away: the focused button is found again.
  const focused = document.activeElement?.closest?.("tr")?.dataset.call;
  body.replaceChildren(
    ...calls.map((call) =>
      node(
        "tr",
        { class: call.callConnectionId === state.openCall ? "open" : "", "data-call": call.callConnectionId },
        node(
          "td",
          {},
          node("div", {}, call.roomId),
          node(
            "button",
            {
              type: "button",
              class: "small",
              "aria-label": `Timeline of the call in room ${call.roomId}`,
              onclick: () => openCall(call.callConnectionId),
            },
            "Timeline",
          ),
        ),
        node("td", {}, node("span", { class: `state ${call.state}` }, call.state)),
        node("td", {}, node("time", { datetime: call.startedAt }, time(call.startedAt))),
        node("td", {}, node("ul", { class: "people", "aria-label": "Participants" }, ...call.participants.map(person))),
      ),
    ),
  );
  if (focused) body.querySelector(`tr[data-call="${CSS.escape(focused)}"] button`)?.focus();
  show($("calls-empty"), calls.length === 0);
  $("calls-total").textContent = `(${total})`;
  const page = state.cursors.length;
  const first = (page - 1) * PAGE_SIZE + (calls.length ? 1 : 0);
  $("page-info").textContent = calls.length ? `${first}–${first + calls.length - 1} of ${total}` : "";
  $("prev").disabled = page === 1;
  $("next").disabled = !state.next;
}

// ---- one call

async function openCall(callConnectionId) {
  state.openCall = callConnectionId;
  show($("detail"), true);
  $("action-result").textContent = "";
  await loadTimeline(callConnectionId);
  for (const row of $("calls-table").tBodies[0].rows) {
    row.classList.toggle("open", row.dataset.call === callConnectionId);
  }
  // Keyboard and screen-reader users land on what they opened.
  $("detail-title").focus();
}

async function loadTimeline(callConnectionId) {
  let answer;
  try {
    answer = await request("GET", `/ops/calls/${encodeURIComponent(callConnectionId)}/timeline`);
  } catch (problem) {
    result(`Cannot read the timeline: ${problem.message}`, true);
    return;
  }
  if (state.openCall !== callConnectionId) return;
  state.timeline = answer.body;
  renderDetail(answer.body);
}

function renderDetail(timeline) {
  const call = timeline.call;
  const ended = Boolean(call.endedAt);
  $("detail-title").textContent = `Call in room ${call.roomId}`;
  $("detail-summary").textContent =
    `${call.state}; started ${time(call.startedAt)}` +
    (ended ? `, ended ${time(call.endedAt)}. This call has ended.` : `; ${call.participants.length} in the call.`) +
    ` Call connection ${call.callConnectionId}.`;
  for (const id of ["act-end", "act-announce", "act-menu", "act-stop-recording"]) $(id).disabled = ended;
  draw($("timeline"), timeline, names);
  const items = timeline.items.filter((item) => item.lane !== "events");
  $("timeline-caption").textContent =
    `Timeline of the call: ${items.length} items on ${new Set(items.map((i) => i.lane)).size} lanes, ` +
    `${timeline.items.find((i) => i.lane === "events")?.marks.length || 0} events. The same, in words, follows.` +
    (timeline.unavailable.length ? ` Not shown (failed to draw): ${timeline.unavailable.join(", ")}.` : "");
  $("happenings").replaceChildren(...items.map(happening));
  const events = timeline.items.find((item) => item.lane === "events")?.marks || [];
  $("events").replaceChildren(
    ...events.map((mark) => node("li", {}, node("time", { datetime: mark.at }, time(mark.at)), mark.label)),
  );
}

function happening(item) {
  const who = audienceWords(item.audience, names);
  const line = node(
    "li",
    { "data-lane": item.lane, "data-id": item.id },
    node("time", { datetime: item.start }, time(item.start)),
    node("span", { class: "lane" }, item.lane),
    item.lane === "participants" ? names(item.label) : item.label,
    item.status ? " — " : "",
    item.status ? node("span", { class: "status" }, item.status) : null,
    who && item.lane !== "participants" ? ` · to ${who}` : "",
    item.detail ? ` · ${item.detail}` : "",
    item.marks.length ? ` · ${item.marks.map((m) => m.label).join("; ")}` : "",
  );
  if (!state.timeline.call.endedAt) {
    for (const action of item.actions) {
      line.append(
        node("button", { type: "button", class: "small quiet", onclick: () => itemAction(action) }, `${action.label}…`),
      );
    }
  }
  return line;
}

// ---- actions, each after a confirmation

function result(text, bad = false) {
  const box = $("action-result");
  box.textContent = text;
  box.classList.toggle("bad", bad);
}

// Opens the confirmation dialog; resolves with the form's data, or null when cancelled.
function confirmStep({ title, text, ok, danger = false, fields = [] }) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-fields").replaceChildren(...fields);
  const button = $("confirm-ok");
  button.textContent = ok;
  button.className = danger ? "danger" : "";
  return new Promise((resolve) => {
    const form = $("confirm-form");
    const done = (value) => {
      form.removeEventListener("submit", submit);
      $("confirm-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      dialog.close();
      resolve(value);
    };
    const submit = (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      done(new FormData(form));
    };
    const cancel = (event) => {
      event?.preventDefault();
      done(null);
    };
    form.addEventListener("submit", submit);
    $("confirm-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
    (fields.length ? dialog.querySelector("input, select, textarea") : $("confirm-cancel")).focus();
  });
}

async function run(description, method, path, body) {
  try {
    const answer = await request(method, path, { body });
    const status = answer.body?.status ? ` (${answer.body.status})` : "";
    result(`${description}: done, ${answer.status}${status}.`);
  } catch (problem) {
    result(`${description} refused: ${problem instanceof Problem ? problem.message : problem}`, true);
  }
  if (state.openCall) loadTimeline(state.openCall);
  loadCalls();
}

async function endForEveryone() {
  const call = state.timeline.call;
  const form = await confirmStep({
    title: "End the call for everyone?",
    text:
      `Everyone in the call of room ${call.roomId} is disconnected, phones included ` +
      `(${call.participants.length} participants). This cannot be undone.`,
    ok: "End for everyone",
    danger: true,
  });
  if (form) await run("End for everyone", "POST", `/ops/calls/${encodeURIComponent(call.callConnectionId)}/end`);
}

function select(name, label, options, required = true) {
  const id = `field-${name}`;
  return node(
    "div",
    {},
    node("label", { for: id }, label),
    node("select", { id, name, ...(required ? { required: "" } : {}) }, ...options.map(([value, text]) => node("option", { value }, text))),
  );
}

async function announce() {
  const call = state.timeline.call;
  const people = call.participants.map((p) => [p.rawId, names(p.rawId)]);
  const text = node(
    "div",
    {},
    node("label", { for: "field-text" }, "What they hear"),
    node("textarea", { id: "field-text", name: "text", required: "", maxlength: "400" }),
  );
  const audience = node(
    "fieldset",
    {},
    node("legend", {}, "Who hears it"),
    ...[
      ["everyone", "Everyone"],
      ["role", "Everyone with a role"],
      ["participant", "One participant"],
    ].map(([value, words], index) =>
      node(
        "label",
        { class: "choice" },
        node("input", { type: "radio", name: "to", value, ...(index === 0 ? { checked: "" } : {}) }),
        words,
      ),
    ),
    select("role", "Role", ROLES.map((role) => [role, role]), false),
    select("participant", "Participant", people, false),
  );
  const form = await confirmStep({
    title: "Announce",
    text: `Play a text-to-speech announcement in the call of room ${call.roomId}. Only those chosen hear it.`,
    ok: "Announce",
    fields: [text, audience],
  });
  if (!form) return;
  const to = { everyone: "everyone", role: { roles: [form.get("role")] }, participant: { participants: [form.get("participant")] } }[form.get("to")];
  await run("Announcement", "POST", `/ops/calls/${encodeURIComponent(call.callConnectionId)}/announcements`, {
    text: form.get("text"),
    to,
  });
}

async function startMenu() {
  const call = state.timeline.call;
  let menus = [];
  try {
    menus = (await request("GET", "/ops/menus")).body.map((menu) => [menu.name, menu.name]);
  } catch (problem) {
    result(`Cannot list the menus: ${problem.message}`, true);
    return;
  }
  const form = await confirmStep({
    title: "Start a menu",
    text: "The participant hears the menu's prompt and answers with the keypad.",
    ok: "Start menu",
    fields: [
      select("participant", "Participant", call.participants.map((p) => [p.rawId, names(p.rawId)])),
      select("menu", "Menu", menus),
    ],
  });
  if (!form) return;
  await run("Menu", "POST", `/ops/calls/${encodeURIComponent(call.callConnectionId)}/menus`, {
    participant: form.get("participant"),
    menu: form.get("menu"),
  });
}

async function itemAction(action) {
  const form = await confirmStep({ title: `${action.label}?`, text: action.confirm, ok: action.label, danger: true });
  if (form) await run(action.label, action.method, action.path);
}

// Recording is offered when the bot serves an ops route to stop it (a recording handler).
async function detectRecording() {
  try {
    const document = (await request("GET", "/openapi.json")).body;
    state.recordingStop = Boolean(document.paths["/ops/calls/{callConnectionId}/recording/{action}"]?.post);
  } catch {
    state.recordingStop = false;
  }
  show($("act-stop-recording"), state.recordingStop);
}

async function stopRecording() {
  const call = state.timeline.call;
  const form = await confirmStep({
    title: "Stop recording?",
    text: `Recording of the call in room ${call.roomId} stops; what was recorded so far is kept.`,
    ok: "Stop recording",
    danger: true,
  });
  if (form) await run("Stop recording", "POST", `/ops/calls/${encodeURIComponent(call.callConnectionId)}/recording/stop`);
}

// ---- wiring

function start() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("ops-key").value.trim();
    if (key) signIn(key);
  });
  $("sign-out").addEventListener("click", () => signOut());
  let typing;
  $("room-filter").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.cursors = [null];
      loadCalls();
    }, 250);
  });
  $("filter").addEventListener("submit", (event) => event.preventDefault());
  $("prev").addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    loadCalls();
  });
  $("next").addEventListener("click", () => {
    if (state.next) state.cursors.push(state.next);
    loadCalls();
  });
  $("act-end").addEventListener("click", endForEveryone);
  $("act-announce").addEventListener("click", announce);
  $("act-menu").addEventListener("click", startMenu);
  $("act-stop-recording").addEventListener("click", stopRecording);
  window.addEventListener("resize", () => state.timeline && draw($("timeline"), state.timeline, names));
  if (session.key) enter();
  else $("ops-key").focus();
}

start();
