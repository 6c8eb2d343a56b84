// The emulator console: rooms, their calls and participants, keypads, scripted phones, the media
// log as "who heard what", and the callbacks sent. Reads the control API again whenever the
// emulator says something changed (server-sent events); every action is a control API request.

const $ = (id) => document.getElementById(id);
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const TONE_KEYS = {
  zero: "0", one: "1", two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8",
  nine: "9", pound: "#", asterisk: "*", a: "A", b: "B", c: "C", d: "D",
};
const displayNames = new Map(); // raw id → the name it joined with
const messages = new Map(); // room id → the last action's answer, shown until the next one
let refreshing = null;

function node(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

function time(iso) {
  return iso
    ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
    : "";
}

function shortId(rawId) {
  if (!rawId) return "?";
  if (rawId.startsWith("4:")) return rawId.slice(2);
  return `…${rawId.split(/[_:]/).pop().slice(-6)}`;
}

function who(rawId) {
  const name = displayNames.get(rawId);
  return name ? `${name} (${shortId(rawId)})` : shortId(rawId);
}

function keysOf(tones) {
  return (tones || []).map((tone) => TONE_KEYS[tone] ?? tone).join("");
}

function participantPath(roomId, rawId, action) {
  return `/emulator/rooms/${encodeURIComponent(roomId)}/participants/${encodeURIComponent(rawId)}:${action}`;
}

async function call(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = parsed?.error;
    throw new Error(`${response.status} ${error?.code || response.statusText}: ${error?.message || text}`);
  }
  return parsed;
}

async function act(roomId, description, method, path, body) {
  try {
    await call(method, path, body);
    messages.set(roomId, { text: `${description}: done.`, bad: false });
  } catch (error) {
    messages.set(roomId, { text: `${description} refused: ${error.message}`, bad: true });
  }
  await refresh();
}

// ---- rooms

function sourcesWords(sources) {
  return (sources || [])
    .map((source) =>
      source.kind === "text" ? `“${source.text.text}”` : source.kind === "ssml" ? "SSML" : `audio ${source.file.uri}`,
    )
    .join(" then ");
}

function mediaLine(entry) {
  const to = entry.to === "everyone" ? "everyone" : entry.to.map(who).join(", ");
  const status = node("span", { class: `status ${entry.status}` }, entry.status);
  const at = node("time", { datetime: entry.requestedAt }, time(entry.requestedAt));
  if (entry.kind === "play") {
    return node("li", {}, at, `${to} heard ${sourcesWords(entry.sources)}${entry.loop ? " (looping)" : ""} — `, status);
  }
  if (entry.kind === "recognize") {
    const pressed = entry.tones?.length ? `; pressed ${keysOf(entry.tones)}` : "";
    const prompt = entry.sources?.length ? `heard ${sourcesWords(entry.sources)} and ` : "";
    const phase = entry.status === "running" && entry.phase ? ` (${entry.phase})` : "";
    return node("li", {}, at, `${to} ${prompt}was asked for keys${pressed} — `, status, phase);
  }
  return node("li", {}, at, `${to} was sent keys ${keysOf(entry.tones)} — `, status);
}

function keypad(roomId, participant) {
  const name = who(participant.rawId);
  return node(
    "div",
    { class: "keypad", role: "group", "aria-label": `Keypad of ${name}` },
    ...KEYS.map((key) =>
      node(
        "button",
        {
          type: "button",
          "data-key": `dtmf:${roomId}:${participant.rawId}:${key}`,
          "aria-label": `Press ${key} as ${name}`,
          onclick: () => act(roomId, `${name} pressed ${key}`, "POST", participantPath(roomId, participant.rawId, "dtmf"), { tones: key }),
        },
        key,
      ),
    ),
  );
}

function participantCard(roomId, participant) {
  const flags = [participant.isMuted ? "muted" : null, participant.isOnHold ? "on hold" : null].filter(Boolean);
  const kind = participant.kind === "phoneNumber" ? "phone" : participant.kind === "communicationUser" ? "user" : participant.kind;
  return node(
    "li",
    { class: "participant", "data-raw-id": participant.rawId },
    node("div", { class: "who", title: participant.rawId }, who(participant.rawId)),
    node("div", { class: "meta" }, [participant.role || "no role", kind, participant.state, ...flags].join(" · ")),
    keypad(roomId, participant),
  );
}

function rosterRow(room, member) {
  const inCall = room.call?.participants.find((p) => p.rawId === member.rawId);
  const name = who(member.rawId);
  const action = inCall ? "leave" : "join";
  return node(
    "tr",
    {},
    node("td", { title: member.rawId }, name),
    node("td", {}, member.role),
    node("td", {}, inCall ? "in the call" : "not in the call"),
    node(
      "td",
      {},
      node(
        "button",
        {
          type: "button",
          class: "small" + (inCall ? " quiet" : ""),
          "data-key": `${action}:${room.id}:${member.rawId}`,
          "aria-label": `${inCall ? "Leave" : "Join"}: ${name}`,
          onclick: () => act(room.id, `${name} ${inCall ? "left" : "joined"}`, "POST", participantPath(room.id, member.rawId, action), inCall ? undefined : {}),
        },
        inCall ? "Leave" : "Join",
      ),
    ),
  );
}

function roomSection(room) {
  const message = messages.get(room.id);
  const callPart = room.call
    ? node(
        "div",
        {},
        node("h4", {}, `Call · started ${time(room.call.startedAt)} · ${room.call.participants.length} in it · ${room.call.connections.length} app connection(s)`),
        node("ul", { class: "plain participants", "aria-label": `Participants of room ${room.id}` }, ...room.call.participants.map((p) => participantCard(room.id, p))),
        node("h4", {}, "Who heard what"),
        room.call.media.length
          ? node("ol", { class: "media", "aria-label": `Media log of room ${room.id}` }, ...room.call.media.map(mediaLine))
          : node("p", { class: "empty" }, "Nothing played yet."),
      )
    : node("p", { class: "empty" }, "No call is running. The first member to join starts it.");
  return node(
    "article",
    { class: "room", "aria-labelledby": `room-${room.id}` },
    node(
      "h3",
      { id: `room-${room.id}` },
      `Room ${room.id}`,
      node("span", { class: `badge ${room.open ? "on" : "off"}` }, room.open ? "open" : "outside its validity"),
      node("span", { class: `badge ${room.pstnDialOutEnabled ? "on" : ""}` }, room.pstnDialOutEnabled ? "PSTN dial-out" : "no PSTN dial-out"),
    ),
    node("p", { class: "result" + (message?.bad ? " bad" : ""), role: "status", "aria-live": "polite" }, message?.text || ""),
    node(
      "div",
      { class: "room-body" },
      node(
        "table",
        { "aria-label": `Roster of room ${room.id}` },
        node("thead", {}, node("tr", {}, ...["Member", "Role", "Call", "Action"].map((h) => node("th", { scope: "col" }, h)))),
        node("tbody", {}, ...room.roster.map((member) => rosterRow(room, member))),
      ),
      callPart,
    ),
  );
}

// ---- phones and callbacks

function phoneItem(phone) {
  const keys = phone.dtmf.map((step) => `${Array.isArray(step.tones) ? step.tones.join(" ") : step.tones} after ${step.afterSeconds}s`).join(", ");
  return node("li", {}, node("span", { class: "id" }, phone.phoneNumber), ` ${phone.answer} after ${phone.answerAfterSeconds}s`, keys ? `, then presses ${keys}` : "");
}

function invitationRow(invitation) {
  const number = invitation.participant?.phoneNumber?.value || invitation.participant?.rawId || "?";
  const result = invitation.resultInformation;
  return node(
    "tr",
    { class: invitation.state === "ringing" ? "ringing-now" : "" },
    node("td", { class: "id" }, number),
    node("td", {}, node("span", { class: `status ${invitation.state}` }, invitation.state), result && invitation.state !== "answered" ? ` ${result.code}/${result.subCode}` : ""),
    node("td", {}, invitation.roomId),
    node("td", {}, node("time", { datetime: invitation.createdAt }, time(invitation.createdAt))),
  );
}

function deliveryRow(entry) {
  const events = entry.events.map((event) => event.type).join(", ") || "(no events)";
  const answer = entry.status ? String(entry.status) : entry.error || "no answer";
  const ok = entry.status && entry.status < 300;
  let path = entry.url;
  try {
    path = new URL(entry.url).pathname;
  } catch {
    // Not a URL the browser parses: shown as it is.
  }
  return node(
    "tr",
    {},
    node("td", {}, node("time", { datetime: entry.at }, time(entry.at))),
    node("td", {}, events),
    node("td", { title: entry.url }, `${entry.kind} ${path}`),
    node("td", {}, node("span", { class: `status ${ok ? "ok" : "bad"}` }, answer)),
  );
}

// ---- reading everything again

function keepFocus(render) {
  const focused = document.activeElement?.dataset?.key;
  render();
  if (focused) document.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

async function refresh() {
  const [rooms, phones, invitations, deliveries] = await Promise.all([
    call("GET", "/emulator/rooms"),
    call("GET", "/emulator/phones"),
    call("GET", "/emulator/invitations"),
    call("GET", "/emulator/callbacks"),
  ]);
  for (const room of rooms) {
    for (const participant of room.call?.participants || []) {
      if (participant.displayName) displayNames.set(participant.rawId, participant.displayName);
    }
  }
  keepFocus(() => {
    $("room-list").replaceChildren(...rooms.map(roomSection));
    $("rooms-empty").hidden = rooms.length > 0;
    $("phone-list").replaceChildren(...(phones.length ? phones.map(phoneItem) : [node("li", { class: "empty" }, "None: every number answers after 1 s.")]));
    $("invitations").tBodies[0].replaceChildren(...invitations.slice(-20).reverse().map(invitationRow));
    $("deliveries").tBodies[0].replaceChildren(...deliveries.slice(-40).reverse().map(deliveryRow));
  });
}

function scheduleRefresh() {
  clearTimeout(refreshing);
  refreshing = setTimeout(() => refresh().catch(() => setLive("Cannot read the emulator", "off")), 100);
}

function setLive(text, kind) {
  $("live").textContent = text;
  $("live").className = `live ${kind}`;
}

async function setPhone(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const data = new FormData(form);
  const number = String(data.get("number")).trim();
  const keys = String(data.get("keys") || "").trim();
  const body = {
    answer: data.get("answer"),
    answerAfterSeconds: Number(data.get("after") || 0),
    dtmf: keys ? [{ afterSeconds: Number(data.get("keysAfter") || 0), tones: keys }] : [],
  };
  const result = $("phone-result");
  try {
    await call("PUT", `/emulator/phones/${encodeURIComponent(number)}`, body);
    result.textContent = `${number} will ${body.answer} after ${body.answerAfterSeconds}s${keys ? ` and press ${keys}` : ""}.`;
    result.classList.remove("bad");
  } catch (error) {
    result.textContent = `Refused: ${error.message}`;
    result.classList.add("bad");
  }
  await refresh();
}

function start() {
  $("phone-form").addEventListener("submit", setPhone);
  const events = new EventSource("/emulator/console/events");
  events.addEventListener("open", () => {
    setLive("Live", "on");
    scheduleRefresh();
  });
  events.addEventListener("changed", scheduleRefresh);
  events.addEventListener("error", () => setLive("Reconnecting…", "off"));
  scheduleRefresh();
}

start();
