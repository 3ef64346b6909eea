// The dashboards of a busy practice (`--demo practice`: 3 psychologists, 40 clients, about 600
// sessions over six months back and eight weeks ahead): the psychologist's opens on what needs
// them and their schedule by day, shows its first card within a second, holds every session it
// shows (Show more never repeats one), tells each time's zone, opens any booking's details with
// its history, and offers a confirmed one to the calendar. A new client is welcomed with one
// Book button; before the first list arrives no section says "Nothing here.". No console errors
// and no serious or critical axe-core violation in any of it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { start, exitSoon, accessible, shot, shots, SECOND } from "./harness.mjs";

let base;
let browser;
let stop;
const problems = [];
/** While true, the browser's own line for a 429 the test itself answers is expected. */
let throttled = false;

before(async () => {
  ({ base, browser, stop } = await start("practice", ["--demo", "practice"]));
});

after(async () => {
  await stop?.();
  exitSoon("practice");
  assert.deepEqual(problems, [], "console errors or warnings");
});

/** A signed-in page for `name`; `hold` delays every list answer by that many ms. */
async function signIn(name, viewport = { width: 1280, height: 900 }, { hold = 0, poll = 30 * SECOND } = {}) {
  const context = await browser.newContext({ viewport, timezoneId: "Africa/Nairobi", acceptDownloads: true });
  await context.route("**/config.json", (route) =>
    route.fulfill({ json: { api_base: "", auth: "dev", poll_ms: poll, cognito: null } }));
  if (hold) {
    await context.route((url) => url.pathname === "/api/sessions", async (route) => {
      await new Promise((r) => setTimeout(r, hold));
      await route.continue();
    });
  }
  const page = await context.newPage();
  page.on("console", (m) => {
    if (throttled && m.text().includes("status of 429")) return;
    if (m.type() === "error" || m.type() === "warning") problems.push(`${name}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: `Sign in as ${name}` }).click();
  await page.waitForURL("**/dashboard.html");
  return page;
}

test("the demo practice is the size asked for: 3 psychologists, 40 clients, about 600 sessions in every status", async () => {
  const users = await (await fetch(`${base}/dev/users`)).json();
  const of = (role) => users.filter((u) => u.role === role);
  assert.equal(of("psychologist").length, 3, JSON.stringify(users));
  assert.equal(of("client").length, 40);
  const counts = {};
  for (const p of of("psychologist")) {
    const { token } = await (await fetch(`${base}/dev/login`, { method: "POST", body: JSON.stringify({ user_id: p.id }) })).json();
    const list = await (await fetch(`${base}/api/sessions?limit=1`, { headers: { authorization: `Bearer ${token}` } })).json();
    for (const [status, n] of Object.entries(list.counts)) counts[status] = (counts[status] ?? 0) + n;
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  assert.ok(total >= 550 && total <= 650, `${total} sessions: ${JSON.stringify(counts)}`);
  for (const status of ["pending_approval", "approved", "payment_submitted", "confirmed", "in_progress", "completed", "declined", "cancelled"]) {
    assert.ok(counts[status] > 0, `no ${status}: ${JSON.stringify(counts)}`);
  }
});

test("the psychologist's dashboard: what needs them first, then the schedule by day, first card within 1 s", async () => {
  const psy = await signIn("Dr. Amani Njeri");
  // first card, timed from a fresh load of the page as the browser measures it
  await psy.reload();
  const firstCard = await psy.evaluate(() => new Promise((resolve) => {
    const seen = () => document.querySelector("article[data-session-id]");
    if (seen()) return resolve(performance.now());
    new MutationObserver((_, o) => {
      if (seen()) { o.disconnect(); resolve(performance.now()); }
    }).observe(document.body, { childList: true, subtree: true });
  }));
  console.log(`# first card after ${Math.round(firstCard)} ms`);
  assert.ok(firstCard < 1000, `the first card took ${Math.round(firstCard)} ms`);

  const order = await psy.locator("#sections > section").evaluateAll((s) => s.map((x) => x.dataset.section));
  assert.deepEqual(order.slice(0, 3), ["action", "upcoming", "waiting"]);
  assert.equal(order.at(-1), "past");
  // needs them: requests and payments to verify, the soonest first
  const needs = await psy.locator('[data-section="action"] article').evaluateAll((a) => a.map((x) => x.querySelector("time").dateTime));
  assert.ok(needs.length >= 3, `${needs.length} waiting on the psychologist`);
  assert.deepEqual(needs, [...needs].sort(), "soonest first");
  // the schedule by day, the sessions in order, the one under way marked
  const days = await psy.locator('[data-section="upcoming"] [data-day]').evaluateAll((d) => d.map((x) => x.dataset.day));
  assert.deepEqual(days, ["today", "tomorrow", "week", "later"].filter((d) => days.includes(d)));
  assert.ok(days.includes("later"), `${days}`);
  const agenda = await psy.locator('[data-section="upcoming"] article time').evaluateAll((t) => t.map((x) => x.dateTime));
  assert.deepEqual(agenda, [...agenda].sort());
  // each time says its zone
  assert.match(await psy.locator('[data-section="upcoming"] article time').first().innerText(), /EAT|GMT\+3/);
  await accessible(psy, "a busy psychologist's dashboard");
  await shot(psy, "practice-psychologist");
  // what the psychologist sees on opening it, for README
  await psy.screenshot({ path: path.join(shots, "practice-psychologist-top.png") });

  // the past, newest first, page by page: never a session twice
  const past = psy.locator('[data-section="past"] article');
  const before = await past.count();
  assert.ok(before >= 10, `${before} past sessions on the first page`);
  await psy.locator('[data-section="past"] button[data-more="past"]').click();
  await psy.waitForFunction((n) => document.querySelectorAll('[data-section="past"] article').length > n, before);
  const ids = await psy.locator("article[data-session-id]").evaluateAll((a) => a.map((x) => x.dataset.sessionId));
  assert.equal(new Set(ids).size, ids.length, "a session shown twice");
  const when = await past.evaluateAll((a) => a.map((x) => x.querySelector("time").dateTime));
  assert.deepEqual(when, [...when].sort().reverse(), "the past, newest first");
  await psy.context().close();
});

test("View Details shows a booking's history, and a confirmed session goes to the calendar", async () => {
  const psy = await signIn("Dr. Baraka Otieno");
  const confirmed = psy.locator('[data-section="upcoming"] article.status-confirmed').first();
  await confirmed.waitFor();
  await confirmed.getByRole("button", { name: "View Details" }).click();
  const dialog = psy.locator("#details-dialog");
  await dialog.waitFor();
  const history = await dialog.locator(".timeline li").allInnerTexts();
  assert.match(history[0], /The client requested the session/);
  assert.ok(history.some((h) => /You verified the payment/.test(h)), history.join(" | "));
  await accessible(psy, "a booking's details");
  await psy.screenshot({ path: path.join(shots, "practice-details.png") });
  await dialog.getByRole("button", { name: "Close" }).click();

  const [download] = await Promise.all([
    psy.waitForEvent("download"),
    confirmed.getByRole("button", { name: "Add to calendar" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^kikao-session-\d{4}-\d{2}-\d{2}\.ics$/);
  const ics = await fs.readFile(await download.path(), "utf8");
  const id = await confirmed.getAttribute("data-session-id");
  assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics, new RegExp(`UID:${id}@kikao\r\n`));
  assert.match(ics, /DTSTART:\d{8}T\d{6}Z\r\n/);
  assert.match(ics, /URL:https:\/\/meet\.jit\.si\//);
  await psy.context().close();
});

test("a new client is welcomed with one Book button, and no section says Nothing here. before the list", async () => {
  const made = await fetch(`${base}/dev/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Neema Practice", role: "client" }) });
  assert.equal(made.status, 201, await made.text());
  const page = await signIn("Neema Practice", { width: 390, height: 844 }, { hold: 1500 });
  // the list is held back: a placeholder, never "Nothing here."
  await page.locator(".placeholder").first().waitFor();
  assert.equal(await page.getByText("Nothing here.").count(), 0);
  await page.locator("#consent-dialog").getByRole("button", { name: "I agree" }).click();
  const welcome = page.locator("#welcome");
  await welcome.waitFor();
  assert.match(await welcome.innerText(), /Welcome to Kikao, Neema/);
  await accessible(page, "a new client's welcome");
  await shot(page, "practice-new-client");
  await welcome.getByRole("link", { name: "Book your first session" }).click();
  await page.waitForFunction(() => location.hash === "#book");
  await page.context().close();
});

test("the bell lists the latest changes and counts the other party's since it was last opened", async () => {
  const client = await signIn("Wanjiru Kamau", { width: 390, height: 844 }, { poll: SECOND });
  const psy = await signIn("Dr. Amani Njeri");
  const count = client.locator("#bell-count");
  await client.locator("#bell").waitFor();
  assert.equal(await count.isVisible(), false, "nothing unread on a first visit");
  // the psychologist approves Wanjiru's request
  const request = psy.locator('[data-section="action"] article', { hasText: "Wanjiru Kamau" }).filter({ hasText: "New Booking Request" }).first();
  await request.getByRole("button", { name: "Approve" }).click();
  await client.waitForFunction(() => document.querySelector("#bell-count")?.textContent === "1", null, { timeout: 20 * SECOND });
  assert.match(await client.locator("#bell").getAttribute("aria-label"), /1 unread/);
  await client.locator("#bell").click();
  const first = client.locator("#bell-dialog li").first();
  assert.match(await first.innerText(), /The psychologist approved · Dr\. Amani Njeri/);
  assert.ok(await client.locator("#bell-dialog li").count() <= 20);
  await accessible(client, "the bell's list");
  await shot(client, "practice-bell");
  await first.getByRole("button", { name: "View Details" }).click();
  await client.locator("#details-dialog .timeline").waitFor();
  await client.locator("#details-dialog").getByRole("button", { name: "Close" }).click();
  assert.equal(await count.isVisible(), false, "read once opened");
  await client.context().close();
  await psy.context().close();
});

test("keyboard and phone: a skip link, focus on the card acted on, the Book link in reach, a zone list, and a 429 that says when", async () => {
  const psy = await signIn("Dr. Chebet Kiprono", { width: 1280, height: 900 }, { poll: SECOND });
  await psy.locator("article[data-session-id]").first().waitFor();
  // the first Tab reaches the skip link, which takes the keyboard to the sessions
  await psy.keyboard.press("Tab");
  assert.equal(await psy.evaluate(() => document.activeElement?.textContent), "Skip to your sessions");
  await psy.keyboard.press("Enter");
  assert.equal(await psy.evaluate(() => document.activeElement?.id), "sections");
  // after an action, focus is on that card, in the section it moved to
  const request = psy.locator('[data-section="action"] article.status-pending_approval').first();
  const id = await request.getAttribute("data-session-id");
  await request.getByRole("button", { name: "Approve" }).click();
  await psy.locator(`[data-section="waiting"] article[data-session-id="${id}"]`).waitFor();
  await psy.waitForFunction((sid) => document.activeElement?.dataset?.sessionId === sid, id);
  // the profile's zone is picked from the IANA list
  await psy.getByRole("button", { name: "Profile" }).click();
  await psy.waitForFunction(() => document.querySelectorAll("#time-zones option").length > 0);
  const zones = await psy.locator("#time-zones option").evaluateAll((o) => o.map((x) => x.value));
  assert.ok(zones.includes("Africa/Nairobi") && zones.includes("Europe/London") && zones.length > 300, `${zones.length} zones`);
  await psy.locator("#profile-close").click();

  // throttled: the page says when it will ask again, and waits that long
  const asked = [];
  throttled = true;
  await psy.route((url) => url.pathname === "/api/sessions" && url.searchParams.has("since"), (route) => {
    asked.push(Date.now());
    return route.fulfill({ status: 429, headers: { "retry-after": "4" }, json: { message: "Too Many Requests" } });
  });
  await psy.getByRole("button", { name: "Refresh now" }).click();
  await psy.locator("#error", { hasText: "try again in 4 seconds" }).waitFor();
  await psy.waitForTimeout(3 * SECOND);
  assert.equal(asked.length, 1, "asked again before the wait was over");
  await psy.context().close();
  throttled = false;

  // on a phone the header stays compact, and the Book link stays on screen while scrolling
  const client = await signIn("Kevin Mwangi", { width: 390, height: 844 });
  await client.locator("article[data-session-id]").first().waitFor();
  const header = await client.locator("header.topbar").boundingBox();
  assert.ok(header.height <= 110, `a ${header.height} px header`);
  await client.mouse.wheel(0, 3000);
  await client.waitForTimeout(300);
  const book = await client.locator("#book-link").boundingBox();
  assert.ok(book && book.y >= 0 && book.y + book.height <= 844, `the Book link at ${JSON.stringify(book)}`);
  await accessible(client, "a client's dashboard on a phone, scrolled");
  await shot(client, "practice-client-phone");
  await client.context().close();
});
