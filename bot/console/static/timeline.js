// One call's timeline as an SVG picture: a row per item, grouped in lanes, on one time axis.
// Everything drawn also appears, in words, in the lists under the picture.

const SVG = "http://www.w3.org/2000/svg";
const LANES = [
  ["call", "Call"],
  ["participants", "Participants"],
  ["announcements", "Announcements"],
  ["menus", "Menus and keys"],
  ["dial-outs", "Dial-outs"],
  ["recording", "Recording"],
  ["end", "End for everyone"],
  ["events", "Events"],
];
const LABEL_WIDTH = 190;
const ROW = 26;
const LANE_GAP = 8;
const AXIS = 26;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

// A time of today as hh:mm:ss; of another day with its date, so a far-off end is not misread.
export function time(iso) {
  const date = new Date(iso);
  const clock = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  if (date.toDateString() === new Date().toDateString()) return clock;
  return `${date.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" })} ${clock}`;
}

// "8:acs:<resource>_<guid>" → "user …1a2b3c"; "4:+14255550123" → "+14255550123".
export function shortId(rawId) {
  if (!rawId) return "?";
  if (rawId.startsWith("4:")) return rawId.slice(2);
  const tail = rawId.split(/[_:]/).pop();
  return `user …${tail.slice(-6)}`;
}

export function audienceWords(audience, names) {
  if (audience === "everyone") return "everyone";
  if (!audience || audience.length === 0) return "";
  return audience.map((rawId) => names(rawId)).join(", ");
}

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function cls(status) {
  return status ? `s-${String(status).replace(/\s+/g, "-")}` : "span";
}

function ms(iso) {
  return iso ? new Date(iso).getTime() : null;
}

// The axis runs from the first thing that happened to now (or the call's end): what is only
// scheduled later (the end at validUntil) is drawn at the right edge with its time.
function extent(items, now, endedAt) {
  const last = endedAt ?? now;
  let start = Infinity;
  let end = -Infinity;
  for (const item of items) {
    const begin = ms(item.start);
    if (begin <= last) start = Math.min(start, begin);
    end = Math.max(end, Math.min(ms(item.end) ?? (item.point ? begin : last), last));
    for (const mark of item.marks) end = Math.max(end, Math.min(ms(mark.at), last));
  }
  if (!Number.isFinite(start)) start = end = last;
  end = Math.max(end, last);
  if (end - start < 5000) end = start + 5000;
  return [start, end];
}

function rows(items) {
  const byLane = new Map(LANES.map(([lane]) => [lane, []]));
  for (const item of items) {
    if (!byLane.has(item.lane)) byLane.set(item.lane, []);
    byLane.get(item.lane).push(item);
  }
  return [...byLane.entries()].filter(([, laneItems]) => laneItems.length > 0);
}

function laneTitle(lane) {
  return (LANES.find(([key]) => key === lane) || [lane, lane])[1];
}

// Draws `timeline` (the /ops/calls/{id}/timeline answer) into `svg`; `names(rawId)` says who.
export function draw(svg, timeline, names) {
  const now = ms(timeline.now);
  const lanes = rows(timeline.items);
  const width = Math.max(640, svg.parentElement.clientWidth || 900);
  const [t0, t1] = extent(timeline.items, now, ms(timeline.call.endedAt));
  const plot = width - LABEL_WIDTH - 16;
  const x = (iso) => LABEL_WIDTH + ((Math.min(ms(iso) ?? now, t1) - t0) / (t1 - t0)) * plot;
  let height = AXIS;
  for (const [, laneItems] of lanes) height += laneItems.length * ROW + LANE_GAP + 18;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);

  const axis = el("g", { class: "axis" });
  const span = (t1 - t0) / 1000;
  const step = STEPS.find((s) => span / s <= 8) || 86400;
  const first = Math.ceil(t0 / 1000 / step) * step * 1000;
  for (let t = first; t <= t1; t += step * 1000) {
    const at = new Date(t).toISOString();
    axis.append(el("line", { x1: x(at), x2: x(at), y1: AXIS - 6, y2: height }));
    axis.append(el("text", { x: x(at) + 3, y: 14 }, time(at)));
  }
  svg.append(axis);

  let y = AXIS;
  for (const [lane, laneItems] of lanes) {
    svg.append(el("text", { class: "lane-label", x: 6, y: y + 13 }, laneTitle(lane)));
    y += 18;
    svg.append(el("rect", { class: "band", x: 0, y, width, height: laneItems.length * ROW }));
    for (const item of laneItems) {
      svg.append(drawItem(item, y, x, names, lane, timeline));
      y += ROW;
    }
    y += LANE_GAP;
  }
  if (!timeline.call.endedAt) {
    svg.append(el("line", { class: "now", x1: x(timeline.now), x2: x(timeline.now), y1: AXIS - 6, y2: height }));
  }
}

function rowLabel(item, names, lane) {
  if (lane === "participants") return names(item.label);
  if (item.audience && item.audience !== "everyone" && lane === "menus") {
    return `${item.label} · ${names(item.audience[0])}`;
  }
  return item.label;
}

function drawItem(item, y, x, names, lane, timeline) {
  const group = el("g", { class: `item lane-${lane}`, "data-id": item.id });
  const label = rowLabel(item, names, lane);
  group.append(el("title", {}, [label, item.status, item.detail].filter(Boolean).join(" — ")));
  const clipped = label.length > 28 ? `${label.slice(0, 27)}…` : label;
  group.append(el("text", { class: "row-label", x: 14, y: y + 17 }, clipped));
  const top = y + 5;
  const barHeight = ROW - 10;
  if (item.point) {
    const at = x(item.start);
    const later = ms(item.start) > ms(timeline.now);
    group.append(el("line", { class: "point", x1: at, x2: at, y1: y + 2, y2: y + ROW - 2 }));
    const words = later ? `${item.status || ""} at ${time(item.start)} →` : item.status || "";
    group.append(el("text", { class: "point-text", x: later ? at - 6 : at + 4, y: y + 17, "text-anchor": later ? "end" : "start" }, words));
  } else if (item.lane !== "events") {
    const pieces = item.segments.length ? item.segments : [{ status: item.status, start: item.start, end: item.end }];
    for (const piece of pieces) {
      const left = x(piece.start);
      const right = Math.max(left + 3, x(piece.end));
      group.append(el("rect", { class: cls(piece.status), x: left, y: top, width: right - left, height: barHeight, rx: 3 }));
      // Words on the bar unless its marks have words of their own to show there.
      if (right - left > 60 && piece.status && (item.marks.length === 0 || item.lane === "events")) {
        group.append(el("text", { class: "bar-text", x: left + 4, y: top + 12 }, piece.status));
      }
    }
  }
  let lastText = -Infinity;
  for (const mark of item.marks) {
    const at = x(mark.at);
    const diamond = el("path", { class: "mark", d: `M${at} ${top - 1} l4 ${barHeight / 2 + 1} l-4 ${barHeight / 2 + 1} l-4 -${barHeight / 2 + 1} z` });
    diamond.append(el("title", {}, `${time(mark.at)} ${mark.label}`));
    group.append(diamond);
    // Keys and answers are worth reading on the picture; events are too many, their list has them.
    if (item.lane !== "events" && at - lastText > 70) {
      group.append(el("text", { class: "mark-text", x: at + 6, y: top + 11 }, mark.label));
      lastText = at;
    }
  }
  return group;
}
