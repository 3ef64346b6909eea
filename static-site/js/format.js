// How Kikao writes money and time: "KSh 2,000", dates in the viewer's time zone (Nairobi unless
// their profile says otherwise), and "2 hours ago".

let zone = "Africa/Nairobi";

export function setTimeZone(tz) {
  if (tz) zone = tz;
}

export function timeZone() {
  return zone;
}

export function kes(amount) {
  return `KSh ${Number(amount).toLocaleString("en-KE")}`;
}

/** A date and time in the viewer's zone, the zone named ("EAT"): two people in two zones
 * never read the same words as two times. */
export function when(iso) {
  return new Intl.DateTimeFormat("en-KE", {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "numeric", minute: "2-digit", timeZoneName: "short",
  }).format(new Date(iso));
}

/** The calendar day of `date` in the viewer's zone, as a day number (days since 1970). */
function dayNumber(date) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(date).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / 86400000;
}

/** How many calendar days, in the viewer's zone, from `now` to `iso`: 0 today, 1 tomorrow. */
export function daysFromToday(iso, now = Date.now()) {
  return dayNumber(new Date(iso)) - dayNumber(new Date(now));
}

export function clock(date) {
  return new Intl.DateTimeFormat("en-KE", { timeZone: zone, hour: "numeric", minute: "2-digit", second: "2-digit" }).format(date);
}

const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

export function ago(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) return rtf.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** "0712 345 678" from "+254712345678". */
export function localPhone(e164) {
  if (!e164?.startsWith("+254") || e164.length !== 13) return e164 ?? "";
  const n = e164.slice(4);
  return `0${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
}

/** A local date and time in the viewer's zone as an RFC 3339 string with that zone's offset. */
export function toRfc3339(date, time) {
  const guess = new Date(`${date}T${time}:00Z`);
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" }).formatToParts(guess);
  const name = parts.find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const offset = name === "GMT" ? "+00:00" : name.replace("GMT", "");
  return `${date}T${time}:00${offset}`;
}
