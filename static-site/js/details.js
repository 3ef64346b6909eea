// "View Details": one booking as the server has it now, with its history as a timeline; and "Add
// to calendar", an .ics file of a confirmed session made in the browser from what the card
// already shows (no request, nothing stored).

import { api } from "./api.js";
import { card, el, changeText } from "./cards.js";
import { when } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The booking's history, oldest first, as an ordered list. */
function timeline(history, role) {
  return el("ol", { class: "timeline" }, ...history.map((e) => el("li", {},
    el("time", { dateTime: e.at }, when(e.at)), " ",
    el("strong", {}, changeText(e.by, e.action, role)),
    e.note ? el("p", { class: "hint" }, `“${e.note}”`) : null)));
}

/** Opens the details of booking `id`; `onError(e)` hears why it could not. */
export async function openDetails(id, role, onError) {
  let s;
  try {
    ({ data: s } = await api.get(`/api/sessions/${id}`));
  } catch (e) {
    onError(e);
    return;
  }
  const shown = card(s, role);
  // the dialog shows; the buttons stay on the dashboard's card
  for (const x of shown.querySelectorAll(".actions, form, button")) x.remove();
  const ics = ["confirmed", "in_progress"].includes(s.status)
    ? el("button", { type: "button", class: "ics" }, "📅 Add to calendar") : null;
  ics?.addEventListener("click", () => downloadIcs(s, role));
  $("details-body").replaceChildren(shown, ics ?? "", el("h3", {}, "History"), timeline(s.history ?? [], role));
  $("details-dialog").showModal();
  $("details-close").focus();
}

/** Text escaped for an iCalendar TEXT value (RFC 5545, 3.3.11). */
const icsText = (t) => String(t).replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\n/g, "\\n");
/** A UTC time as iCalendar writes it: 20300107T060000Z. */
const icsTime = (iso) => new Date(iso).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

/** Downloads `s` as an .ics file its calendar app can add. */
export function downloadIcs(s, role) {
  if (!s) return;
  const other = role === "client" ? s.psychologist.name : s.client.name;
  const lines = [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kikao//Sessions//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
    "BEGIN:VEVENT",
    `UID:${s.id}@kikao`,
    `DTSTAMP:${icsTime(new Date().toISOString())}`,
    `DTSTART:${icsTime(s.starts_at)}`,
    `DTEND:${icsTime(s.ends_at)}`,
    `SUMMARY:${icsText(`${s.session_type.name} with ${other}`)}`,
    s.meeting_link ? `URL:${s.meeting_link}` : null,
    s.meeting_link ? `DESCRIPTION:${icsText(`Join: ${s.meeting_link}`)}` : null,
    `SEQUENCE:${s.version}`,
    "END:VEVENT", "END:VCALENDAR",
  ].filter(Boolean);
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/calendar" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `kikao-session-${s.starts_at.slice(0, 10)}.ics` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
