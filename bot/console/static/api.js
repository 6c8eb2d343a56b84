// The bot's /ops API as the console uses it: the ops key in session storage only, sent as the
// bearer header; problem+json answers turned into readable errors; the live feed read with
// fetch (EventSource cannot send a header).

const KEY = "roombot.opsKey";

export class Problem extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

async function problemOf(response) {
  let title = `${response.status} ${response.statusText}`;
  let detail = "";
  try {
    const body = await response.json();
    title = body.title || title;
    detail = body.detail || "";
  } catch {
    // Not JSON: the status line is all there is.
  }
  return new Problem(response.status, title, detail);
}

export async function request(method, path, { body, key = session.key } = {}) {
  const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new Problem(0, "The bot cannot be reached", String(error.message || error));
  }
  if (!response.ok) throw await problemOf(response);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

// Reads /ops/events until `signal` aborts; calls onNotice for each notice and onState with
// "on" | "off" as the stream opens and drops. Reconnects after the server's retry delay.
export async function follow(signal, onNotice, onState) {
  let retry = 2000;
  while (!signal.aborted) {
    try {
      const response = await fetch("/ops/events", {
        headers: { Authorization: `Bearer ${session.key}`, Accept: "text/event-stream" },
        signal,
      });
      if (!response.ok) throw await problemOf(response);
      onState("on");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = parseEvent(block);
          if (fields.retry) retry = Number(fields.retry) || retry;
          if (fields.event === "call" && fields.data) onNotice(JSON.parse(fields.data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof Problem && (error.status === 401 || error.status === 403)) {
        onState("refused", error);
        return;
      }
    }
    onState("off");
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

function parseEvent(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const name = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    fields[name] = fields[name] ? `${fields[name]}\n${value}` : value;
  }
  return fields;
}
