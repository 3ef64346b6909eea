// The slot picker, in the booking form and the reschedule dialog: a psychologist's free starts
// as the server lists them (GET /api/psychologists/{id}/availability), two weeks at a time,
// grouped by day in the viewer's time zone, which is named. The page never works out what is
// free: it offers what the server offers, and sends back the instant it was given.

import { api } from "./api.js";
import { el } from "./cards.js";
import { timeZone, toRfc3339 } from "./format.js";

const WINDOW_DAYS = 14;
/** A year ahead, the longest horizon a psychologist may set. */
const MAX_WINDOWS = 27;
const DAY_MS = 86400000;

function localDate(date) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone() }).format(date);
}

function dayLabel(date) {
  return new Intl.DateTimeFormat("en-KE", { timeZone: timeZone(), weekday: "short", day: "numeric", month: "short" }).format(date);
}

function timeLabel(date) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: timeZone(), hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date);
}

/**
 * Wires the picker inside `root`: a day select (`[name=day]`), a time select
 * (`[name=starts_at]`, whose values are the server's instants), Earlier/Later buttons
 * (`[data-slots=prev|next]`), the range shown (`.slot-range`), the zone (`.tz`) and a status line
 * (`.slot-status`). `onChange(hasSlot)` follows whether a time is chosen.
 */
export function slotPicker(root, onChange = () => {}) {
  const day = root.querySelector("[name=day]");
  const time = root.querySelector("[name=starts_at]");
  const prev = root.querySelector("[data-slots=prev]");
  const next = root.querySelector("[data-slots=next]");
  const range = root.querySelector(".slot-range");
  const status = root.querySelector(".slot-status");
  let target = null;
  let windowIndex = 0;
  let byDay = new Map();
  let loads = 0;

  const fillTimes = () => {
    const slots = byDay.get(day.value) ?? [];
    time.replaceChildren(...slots.map((s) => el("option", { value: s.starts_at }, timeLabel(new Date(s.starts_at)))));
    time.disabled = slots.length === 0;
    onChange(slots.length > 0);
  };

  const load = async () => {
    const mine = ++loads;
    const start = new Date(Date.now() + windowIndex * WINDOW_DAYS * DAY_MS);
    const end = new Date(start.getTime() + WINDOW_DAYS * DAY_MS);
    const from = toRfc3339(localDate(start), "00:00");
    const to = toRfc3339(localDate(end), "00:00");
    for (const n of root.querySelectorAll(".tz")) n.textContent = timeZone();
    range.textContent = `${dayLabel(start)} – ${dayLabel(new Date(end.getTime() - DAY_MS))}`;
    prev.disabled = windowIndex === 0;
    next.disabled = windowIndex + 1 >= MAX_WINDOWS;
    status.textContent = "Finding free times…";
    // nothing from the last psychologist or fortnight stays choosable while this one loads
    byDay = new Map();
    day.replaceChildren();
    time.replaceChildren();
    day.disabled = time.disabled = true;
    onChange(false);
    let data;
    try {
      const q = new URLSearchParams({ session_type_id: target.type, from, to });
      ({ data } = await api.get(`/api/psychologists/${encodeURIComponent(target.psychologist)}/availability?${q}`));
    } catch (e) {
      if (mine === loads) status.textContent = e.message;
      return;
    }
    if (mine !== loads) return; // a newer choice is loading
    byDay = new Map();
    for (const s of data.slots) {
      const d = localDate(new Date(s.starts_at));
      if (!byDay.has(d)) byDay.set(d, []);
      byDay.get(d).push(s);
    }
    day.replaceChildren(...[...byDay].map(([d, slots]) =>
      el("option", { value: d }, `${dayLabel(new Date(slots[0].starts_at))} · ${slots.length} free`)));
    day.disabled = byDay.size === 0;
    const theirs = data.time_zone !== timeZone() ? ` The psychologist works in ${data.time_zone} time.` : "";
    status.textContent = byDay.size
      ? `Free times on ${byDay.size} day${byDay.size === 1 ? "" : "s"}, shown in ${timeZone()} time.${theirs}`
      : `No free times in these two weeks; try later ones.${theirs}`;
    fillTimes();
  };

  day.addEventListener("change", fillTimes);
  time.addEventListener("change", () => onChange(Boolean(time.value)));
  prev.addEventListener("click", () => { windowIndex = Math.max(0, windowIndex - 1); load(); });
  next.addEventListener("click", () => { windowIndex += 1; load(); });

  return {
    /** Shows the first two weeks of `psychologist`'s free starts for `type`. */
    show(psychologist, type) {
      target = { psychologist, type };
      windowIndex = 0;
      return load();
    },
    /** Loads the same two weeks again (after a refusal: the time may have just been taken). */
    reload: () => (target ? load() : undefined),
    chosen: () => time.value || null,
  };
}
