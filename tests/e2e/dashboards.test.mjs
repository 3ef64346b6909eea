// The dashboards in a real browser: a client (on a phone-sized screen) and a psychologist, in
// two browser contexts on one dev server, play the seed's flows. Each side must see the other's
// change without reloading (the poll interval is shortened to 1 s through config.json). Also:
// unchanged polls answer 304, no console errors or warnings, and screenshots of each state go
// to test-results/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs/promises";
import { start, exitSoon, accessible, shot, shots, SECOND } from "./harness.mjs";

// a real 1x1 PNG, as a phone screenshot stands in
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/eL9GtQAAAABJRU5ErkJggg==", "base64");

let base;
let browser;
let stop;
const problems = [];
/** Every API answer of 400 or more, as "name: status METHOD path". */
const refusals = [];

before(async () => {
  ({ base, browser, stop } = await start("dashboards"));
});

after(async () => {
  await stop?.();
  exitSoon("dashboards");
});

async function signIn(name, viewport, config = {}) {
  const context = await browser.newContext({ viewport, timezoneId: "Africa/Nairobi" });
  await context.route("**/config.json", (route) =>
    route.fulfill({ json: { api_base: "", auth: "dev", poll_ms: SECOND, cognito: null, ...config } }));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${name}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) refusals.push(`${name}: ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: `Sign in as ${name}` }).waitFor();
  await accessible(page, "the sign-in page");
  await page.getByRole("button", { name: `Sign in as ${name}` }).click();
  await page.waitForURL("**/dashboard.html");
  await page.locator("#sections section").first().waitFor();
  return page;
}

const card = (page, section, id) => page.locator(`[data-section="${section}"] article[data-id="${id}"]`);

/** A catch-up poll of the page (`GET /api/sessions?since=`). */
const isPoll = (url) => { const u = new URL(url); return u.pathname === "/api/sessions" && u.searchParams.has("since"); };

/** Now in Nairobi as an M-Pesa SMS writes it: `28/11/26 at 9:47 PM`. */
function mpesaNow() {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: "Africa/Nairobi", day: "numeric", month: "numeric", year: "2-digit",
    // h12, not hour12: en-GB's 12-hour clock writes the first hour after midnight "0:05 am",
    // which M-Pesa never does
    hour: "numeric", minute: "2-digit", hourCycle: "h12",
  }).formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.day}/${p.month}/${p.year} at ${p.hour}:${p.minute} ${p.dayPeriod.toUpperCase()}`;
}

/** Waits for the slot picker in `root` to list the free days, and returns their labels. */
async function freeDays(root) {
  await root.locator("[name=day]:enabled").waitFor();
  return root.locator("[name=day] option").allInnerTexts();
}

/** Books Dr. Amani's first free time on the `nth` day with free times the picker offers (days
 * differ between tests, so their bookings never compete for a time). */
async function book(page, nth, psychologist = "psy-amani") {
  const form = page.locator("#book-form");
  await form.locator("[name=psychologist_id]").selectOption(psychologist);
  await form.locator("[name=session_type_id]").selectOption({ index: 0 });
  await freeDays(form);
  await form.locator("[name=day]").selectOption({ index: nth });
  const startsAt = await form.locator("[name=starts_at]").inputValue();
  await form.locator("[name=note]").fill("Booked from the browser test.");
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/sessions") && r.request().method() === "POST"),
    form.getByRole("button", { name: "Request session" }).click(),
  ]);
  assert.equal(res.status(), 201, await res.text());
  const s = await res.json();
  assert.equal(s.starts_at, startsAt, "the time chosen is the time booked");
  return s.id;
}

/** `iso` as the picker writes a time in `zone`. */
const clockIn = (iso, zone) => new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));

async function answerDialog(page, reason) {
  const dialog = page.locator("#reason-dialog");
  await dialog.waitFor();
  await dialog.locator("textarea").fill(reason);
  await dialog.getByRole("button", { name: "Confirm" }).click();
}


test("book, approve, pay with a pasted SMS and a screenshot, verify: both sides stay in sync", async () => {
  const client = await signIn("Wanjiru Kamau", { width: 390, height: 844 });
  const psy = await signIn("Dr. Amani Njeri", { width: 1280, height: 900 });
  const polls = [];
  psy.on("response", (r) => {
    if (isPoll(r.url())) polls.push(r.status());
  });
  await shot(client, "client-dashboard");

  const id = await book(client, 8);
  await card(client, "waiting", id).getByText("Waiting for therapist approval").waitFor();

  // the psychologist sees it without reloading, with a notification and a badge
  await card(psy, "action", id).waitFor({ timeout: 10 * SECOND });
  await psy.locator(".toast", { hasText: "New booking request" }).first().waitFor();
  assert.match(await psy.title(), /^\(\d+\) Kikao$/);
  assert.match(await card(psy, "action", id).innerText(), /Requested\s+(just now|\d+ seconds? ago|now)/);
  await shot(psy, "psychologist-pending-approval");
  await card(psy, "action", id).getByRole("button", { name: "Approve" }).click();
  await card(psy, "waiting", id).waitFor();

  // the client is told and shown how to pay
  await card(client, "action", id).waitFor({ timeout: 10 * SECOND });
  await client.locator(".toast", { hasText: "Approved!" }).first().waitFor();
  const pay = card(client, "action", id);
  assert.match(await pay.innerText(), /Send KSh 2,000 to M-Pesa: 0700 000 111/);
  assert.match(await pay.innerText(), /Reference: Wanjiru Kamau/);
  await shot(client, "client-payment-required");
  // a message that proves no payment is named as such before anything is submitted
  const preview = pay.locator(".sms-preview");
  const received = `TB42XYZ700 Confirmed.You have received Ksh2,000.00 from JUMA KILELE 0722***456 on ${mpesaNow()} New M-PESA balance is Ksh3,200.00.`;
  await pay.locator("textarea[name=mpesa_message]").fill(received);
  await preview.getByText("This is a message about money you received").waitFor();
  // the payment itself: read back, and checked against the booking by the server
  const sms = `TB42XYZ789 Confirmed. Ksh2,000.00 sent to AMANI  NJERI 0700***111 on ${mpesaNow()} New M-PESA balance is Ksh1,200.00. Transaction cost, Ksh0.00.`;
  await pay.locator("textarea[name=mpesa_message]").fill(sms);
  await preview.getByText("Matches amount, recipient and date").waitFor();
  assert.match(await preview.innerText(), /Read: KSh 2,000 sent to AMANI NJERI 0700\*\*\*111/);
  // what was typed survives the polls that re-draw the cards
  await client.waitForResponse((r) => isPoll(r.url()));
  await client.waitForResponse((r) => isPoll(r.url()));
  assert.equal(await pay.locator("textarea[name=mpesa_message]").inputValue(), sms);
  await accessible(client, "the client's payment form with its preview");
  await pay.locator("input[type=file]").setInputFiles({ name: "mpesa.png", mimeType: "image/png", buffer: PNG });
  await pay.getByRole("button", { name: "Submit Payment Proof" }).click();
  await card(client, "waiting", id).getByText("TB42XYZ789").waitFor();
  await shot(client, "client-payment-under-review");

  // the psychologist verifies against the claimed amount and the screenshot
  const verify = card(psy, "action", id);
  await verify.waitFor({ timeout: 10 * SECOND });
  assert.match(await verify.innerText(), /KSh 2,000 = price/);
  assert.match(await verify.innerText(), /Matches amount, recipient and date/);
  assert.match(await verify.innerText(), /Sent to AMANI NJERI 0700\*\*\*111, the M-Pesa number for this booking/);
  await verify.getByRole("button", { name: "View screenshot" }).click();
  const img = psy.locator("#proof-img");
  await img.waitFor();
  await psy.waitForFunction(() => document.getElementById("proof-img").naturalWidth > 0);
  await shot(psy, "psychologist-payment-verification");
  await accessible(psy, "the psychologist's verification card with the screenshot open");
  await psy.locator("#proof-dialog").getByRole("button", { name: "Close" }).click();
  await verify.getByRole("button", { name: "Verify Payment" }).click();
  const upcoming = card(psy, "upcoming", id);
  await upcoming.waitFor();
  assert.match(await upcoming.locator("a.join").getAttribute("href"), /^https:\/\/meet\.jit\.si\/kikao-[0-9a-f]{64}$/);
  await shot(psy, "psychologist-upcoming");

  const confirmed = card(client, "upcoming", id);
  await confirmed.waitFor({ timeout: 10 * SECOND });
  assert.match(await confirmed.innerText(), /KSh 2,000 \(Paid ✓\)/);
  assert.equal(await confirmed.getByRole("link", { name: "Join Session" }).count(), 1);
  await shot(client, "client-confirmed");

  // a new time is proposed from the same picker, and only free times are offered
  await confirmed.getByRole("button", { name: "Reschedule" }).click();
  const dialog = client.locator("#reschedule-dialog");
  await freeDays(dialog);
  await dialog.locator("[name=day]").selectOption({ index: 1 });
  const proposed = await dialog.locator("[name=starts_at]").inputValue();
  await accessible(client, "the reschedule dialog's slot picker");
  await dialog.getByRole("button", { name: "Propose" }).click();
  await confirmed.getByText("You proposed moving this to").waitFor({ timeout: 10 * SECOND });
  const again = await client.evaluate(async ([sid]) => {
    const t = sessionStorage.getItem("kikao.token");
    return (await (await fetch(`/api/sessions/${sid}`, { headers: { authorization: `Bearer ${t}` } })).json()).reschedule;
  }, [id]);
  assert.equal(new Date(again.starts_at).getTime(), new Date(proposed).getTime());
  // the psychologist is told, accepts, and the client is told the answer
  await psy.locator(".toast", { hasText: "A new time was proposed." }).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", id).getByRole("button", { name: "Accept new time" }).click();
  await client.locator(".toast-notice", { hasText: "Your proposed time was accepted." }).waitFor({ timeout: 10 * SECOND });

  // polling keeps going, and once nothing changes the polls are bodiless 304s (waited for: a
  // busy flow on a slow machine may have had a change behind every poll so far)
  if (!polls.includes(304)) {
    const next = await psy.waitForResponse(
      (r) => isPoll(r.url()) && r.status() === 304,
      { timeout: 5 * SECOND },
    ).catch(() => null);
    assert.ok(next, `no 304 among the polls after the flow settled: ${polls}`);
  }
  await client.context().close();
  await psy.context().close();
});

test("decline with a reason, and reject a payment so the client pays again", async () => {
  const client = await signIn("Wanjiru Kamau", { width: 390, height: 844 });
  const psy = await signIn("Dr. Amani Njeri", { width: 1280, height: 900 });

  const declined = await book(client, 9);
  await card(psy, "action", declined).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", declined).getByRole("button", { name: "Decline" }).click();
  await answerDialog(psy, "Fully booked on this date");
  await card(psy, "declined", declined).waitFor();
  const d = card(client, "declined", declined);
  await d.waitFor({ timeout: 10 * SECOND });
  assert.match(await d.innerText(), /“Fully booked on this date”/);
  // bad news is told in red, not in the green of good news
  await client.locator(".toast-error", { hasText: "Your request was declined." }).waitFor();
  // "Book Another Time" opens the picker on that psychologist's free times
  const bookForm = client.locator("#book-form");
  await bookForm.locator("[name=psychologist_id]").selectOption("psy-baraka");
  await freeDays(bookForm);
  await Promise.all([
    client.waitForResponse((r) => r.url().includes("/api/psychologists/psy-amani/availability")),
    d.getByRole("button", { name: "Book Another Time" }).click(),
  ]);
  assert.equal(await bookForm.locator("[name=psychologist_id]").inputValue(), "psy-amani");
  assert.ok((await freeDays(bookForm)).length > 0);
  await shot(client, "client-declined");

  const rejected = await book(client, 10);
  await card(psy, "action", rejected).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", rejected).getByRole("button", { name: "Approve" }).click();
  const pay = card(client, "action", rejected);
  await pay.waitFor({ timeout: 10 * SECOND });
  await pay.locator("input[name=transaction_code]").fill("tc11abc222");
  await pay.getByRole("button", { name: "Submit Payment Proof" }).click();
  await card(client, "waiting", rejected).getByText("TC11ABC222").waitFor();
  const verify = card(psy, "action", rejected);
  await verify.waitFor({ timeout: 10 * SECOND });
  // a typed code alone says that nothing was checked
  await verify.getByText("Only a transaction code was given, so nothing could be checked").waitFor();
  await verify.getByRole("button", { name: "Reject" }).click();
  await answerDialog(psy, "No payment with this code reached my M-Pesa");
  await card(psy, "waiting", rejected).waitFor();
  const again = card(client, "action", rejected);
  await again.getByText("No payment with this code reached my M-Pesa").waitFor({ timeout: 10 * SECOND });
  // told as a rejection with its reason, never as a fresh approval
  await client.locator(".toast-error", { hasText: "Your payment was not accepted: No payment with this code reached my M-Pesa" }).waitFor();
  await shot(client, "client-payment-rejected");

  // a refused action is rolled back with the server's sentence: the same code again is fine
  // for this booking, but a code used by another booking is not
  await again.locator("input[name=transaction_code]").fill("TB42XYZ789");
  await again.getByRole("button", { name: "Submit Payment Proof" }).click();
  await client.locator(".toast-error", { hasText: "already been used" }).waitFor();
  // the rejected code again, on its own booking: accepted, and the psychologist is reminded
  // this time the SMS is pasted, and it shows the wrong amount to someone else: both sides are
  // told so in words, the client before submitting
  const retry = card(client, "action", rejected);
  await retry.locator("input[name=transaction_code]").fill("");
  const wrong = `TC11ABC222 Confirmed. Ksh1,500.00 sent to JANE WANJIKU 0711***222 on ${mpesaNow()} New M-PESA balance is Ksh10.00. Transaction cost, Ksh0.00.`;
  await retry.locator("textarea[name=mpesa_message]").fill(wrong);
  const warned = retry.locator(".sms-preview");
  await warned.getByText("Check the amount and recipient: they differ from the booking").waitFor();
  assert.match(await warned.innerText(), /KSh 1,500 ≠ price KSh 2,000/);
  await accessible(client, "the client's preview with its warnings");
  await retry.getByRole("button", { name: "Submit Payment Proof" }).click();
  const reminded = card(psy, "action", rejected);
  await reminded.waitFor({ timeout: 10 * SECOND });
  await reminded.getByText(/You rejected this code on .*: “No payment with this code reached my M-Pesa”/).waitFor();
  const said = await reminded.innerText();
  assert.match(said, /KSh 1,500 ≠ price KSh 2,000/);
  assert.match(said, /Sent to JANE WANJIKU 0711\*\*\*222, not the M-Pesa number for this booking \(0700 000 111\)/);
  assert.doesNotMatch(said, /Matches amount, recipient and date/);
  await shot(psy, "psychologist-rejected-code-again");
  await accessible(psy, "the psychologist's card with the warnings and the earlier rejection");
  await client.context().close();
  await psy.context().close();
});

/** The code in the newest phone-confirmation SMS the dev server sent to `e164`. */
async function phoneCode(e164) {
  const { notifications } = await (await fetch(`${base}/dev/notifications`)).json();
  const sms = notifications.filter((n) => n.purpose === "phone_verification" && n.message.to === e164).at(-1);
  assert.ok(sms, `no code was sent to ${e164}`);
  return sms.message.body.match(/\b(\d{6})\b/)[1];
}

test("the profile panel sets a price that new bookings use; a client sets SMS choices and confirms a new number", async () => {
  const psy = await signIn("Dr. Baraka Otieno", { width: 1280, height: 900 });
  await psy.getByRole("button", { name: "Profile" }).click();
  const dialog = psy.locator("#profile-dialog");
  await dialog.waitFor();
  assert.equal(await dialog.locator("[name=mpesa_number]").inputValue(), "+254700000112");
  // a psychologist leaves through the practice administrator, not by erasing their account
  assert.equal(await dialog.locator("#erase-account").isHidden(), true);
  const price = dialog.locator(".type-row").first().locator("[name=type_price]");
  await price.fill("2750");
  await dialog.locator("[name=title]").fill("Counselling Psychologist (Nairobi)");
  await dialog.getByRole("button", { name: "Save" }).click();
  await psy.locator(".toast", { hasText: "Profile saved" }).waitFor();
  await shot(psy, "psychologist-profile-saved");

  const client = await signIn("Kevin Mwangi", { width: 390, height: 844 });
  const form = client.locator("#book-form");
  await form.locator("[name=psychologist_id]").selectOption("psy-baraka");
  assert.match(await form.locator("[name=session_type_id]").innerText(), /KSh 2,750/);
  assert.match(await form.locator("[name=psychologist_id]").innerText(), /Counselling Psychologist \(Nairobi\)/);
  await client.getByRole("button", { name: "Profile" }).click();
  const mine = client.locator("#profile-dialog");
  await mine.waitFor();
  await mine.locator("#phone-state", { hasText: "Confirmed: SMS go to 0700 000 202" }).waitFor();
  await mine.locator("[name=phone]").fill("0711 222 333");
  await mine.locator("[name=notify_sms]").uncheck();
  await mine.getByRole("button", { name: "Save" }).click();
  await client.locator(".toast", { hasText: "Confirm your new number" }).waitFor();
  // a new number gets no SMS until its code is entered: the code is texted at once
  const confirm = client.locator("#phone-dialog");
  await confirm.locator("#phone-status", { hasText: "We sent a code by SMS to 0711 222 333" }).waitFor();
  await accessible(client, "the phone confirmation");
  const code = await phoneCode("+254711222333");
  await confirm.locator("#phone-code").fill(String((Number(code) + 1) % 1000000).padStart(6, "0"));
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await confirm.locator("#phone-error", { hasText: "not the code we sent" }).waitFor();
  await confirm.locator("#phone-code").fill(code);
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await confirm.locator("#phone-status", { hasText: "Confirmed: SMS go to 0711 222 333" }).waitFor();
  await shot(client, "client-phone-confirmed");
  await confirm.getByRole("button", { name: "Done" }).click();
  await client.getByRole("button", { name: "Profile" }).click();
  await mine.waitFor(); // shown once the saved profile is loaded
  assert.equal(await mine.locator("[name=phone]").inputValue(), "+254711222333");
  assert.equal(await mine.locator("[name=notify_sms]").isChecked(), false);
  await mine.locator("#phone-state", { hasText: "Confirmed: SMS go to 0711 222 333" }).waitFor();
  assert.equal(await mine.locator("#phone-confirm").isHidden(), true);
  // a bad number is refused with the server's sentence, in the dialog
  await mine.locator("[name=phone]").fill("12345");
  await mine.getByRole("button", { name: "Save" }).click();
  await mine.locator("#profile-error", { hasText: "Kenyan mobile number" }).waitFor();
  await client.context().close();
  await psy.context().close();
});

test("a new client accepts the privacy notice before booking, downloads their data, and erases their account", async () => {
  const made = await fetch(`${base}/dev/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Akinyi Odhiambo", role: "client" }),
  });
  assert.equal(made.status, 201, await made.text());
  const page = await signIn("Akinyi Odhiambo", { width: 390, height: 844 });
  // asked at the first sign-in, with the notice the server serves
  const notice = page.locator("#consent-dialog");
  await notice.getByRole("heading", { name: "How Kikao looks after your information" }).waitFor();
  await notice.getByText("outside Kenya").first().waitFor();
  await notice.getByRole("heading", { name: "Your rights" }).waitFor();
  await accessible(page, "the privacy notice");
  await shot(page, "client-privacy-notice");
  await notice.getByRole("button", { name: "Not now" }).click();
  await page.locator(".toast", { hasText: "booking needs your consent" }).waitFor();

  // booking without consent: the server refuses, the page asks again and then books
  const form = page.locator("#book-form");
  await form.locator("[name=psychologist_id]").selectOption("psy-amani");
  await freeDays(form);
  await form.locator("[name=day]").selectOption({ index: 4 });
  await form.getByRole("button", { name: "Request session" }).click();
  await notice.locator("#consent-why", { hasText: "accept Kikao's privacy notice before you book" }).waitFor();
  const [consented, booked] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/me/consent")),
    page.waitForResponse((r) => r.url().endsWith("/api/sessions") && r.request().method() === "POST" && r.status() !== 403),
    notice.getByRole("button", { name: "I agree" }).click(),
  ]);
  assert.equal(consented.status(), 200);
  assert.equal(booked.status(), 201, await booked.text());
  const { id } = await booked.json();
  await page.locator(`article[data-id="${id}"]`).first().waitFor();

  // the profile says so, and hands over everything Kikao holds about her
  await page.getByRole("button", { name: "Profile" }).click();
  const profile = page.locator("#profile-dialog");
  await profile.locator("#consent-state", { hasText: "You accepted the privacy notice on" }).waitFor();
  await accessible(page, "the profile with the data controls");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    profile.getByRole("button", { name: "Download my data" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^kikao-my-data-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(await fs.readFile(await download.path(), "utf8"));
  assert.equal(file.kind, "kikao-personal-data");
  assert.equal(file.profile.name, "Akinyi Odhiambo");
  assert.deepEqual(file.bookings.map((b) => b.id), [id]);
  assert.deepEqual(file.bookings[0].history.map((e) => e.action), ["book"]);
  assert.equal(file.consents.length, 1);
  // nobody else's bookings: the demo clients' names are not in it
  for (const other of ["Wanjiru", "Kevin"]) assert.ok(!JSON.stringify(file).includes(other), other);
  await page.locator(".toast", { hasText: "Your data is downloaded" }).waitFor();

  // and she closes her account: the words must be exact, then she is signed out and told
  await profile.getByRole("button", { name: "Delete my account" }).click();
  const erase = page.locator("#erase-dialog");
  await erase.getByRole("heading", { name: "Delete your account" }).waitFor();
  await accessible(page, "the erasure dialog");
  await erase.getByLabel("Type DELETE MY DATA to confirm").fill("delete my data");
  await erase.getByRole("button", { name: "Delete my account" }).click();
  await erase.locator("#erase-error", { hasText: "DELETE MY DATA" }).waitFor();
  await shot(page, "client-erase-dialog");
  await erase.getByLabel("Type DELETE MY DATA to confirm").fill("DELETE MY DATA");
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/me") && r.request().method() === "DELETE" && r.status() === 200),
    erase.getByRole("button", { name: "Delete my account" }).click(),
  ]);
  await page.waitForURL((u) => u.pathname === "/" || u.pathname === "/index.html");
  await page.getByText("Your account is closed and your data erased").waitFor();
  // gone from the dev sign-in, and her booking kept for Dr. Amani without her name
  assert.equal(await page.getByRole("button", { name: "Sign in as Akinyi Odhiambo" }).count(), 0);
  const psy = await signIn("Dr. Amani Njeri", { width: 1280, height: 900 });
  const kept = await psy.evaluate(async (sid) => {
    const res = await fetch(`/api/sessions/${sid}`, { headers: { authorization: `Bearer ${sessionStorage.getItem("kikao.token")}` } });
    return res.json();
  }, id);
  assert.equal(kept.client.name, "Former client");
  assert.equal(kept.status, "cancelled");
  await psy.context().close();
  await page.context().close();
});

test("a psychologist's hours decide what a client in London is offered, in London time", async () => {
  // Dr. Baraka (Nairobi) adds Sunday mornings in the profile panel
  const psy = await signIn("Dr. Baraka Otieno", { width: 1280, height: 900 });
  await psy.getByRole("button", { name: "Profile" }).click();
  const panel = psy.locator("#profile-dialog");
  await panel.waitFor();
  assert.equal(await panel.locator("#hours .hours-row").count(), 4, "Monday to Thursday");
  assert.equal(await panel.locator("[name=buffer_minutes]").inputValue(), "15");
  await panel.getByRole("button", { name: "Add working hours" }).click();
  const sunday = panel.locator("#hours .hours-row").last();
  await sunday.locator("[name=weekday]").selectOption("sun");
  await sunday.locator("[name=start]").fill("10:00");
  await sunday.locator("[name=end]").fill("12:00");
  await accessible(psy, "the profile panel with working hours");
  await panel.screenshot({ path: path.join(shots, "psychologist-working-hours.png") });
  await panel.getByRole("button", { name: "Save" }).click();
  await psy.locator(".toast", { hasText: "Profile saved" }).waitFor();

  // Fatuma lives in London: her profile says so, and the picker speaks London time
  const client = await signIn("Fatuma Hassan", { width: 390, height: 844 });
  await client.getByRole("button", { name: "Profile" }).click();
  const mine = client.locator("#profile-dialog");
  await mine.waitFor();
  await mine.locator("[name=time_zone]").fill("Europe/London");
  await mine.getByRole("button", { name: "Save" }).click();
  await client.locator(".toast", { hasText: "Profile saved" }).waitFor();
  const form = client.locator("#book-form");
  await form.locator("[name=psychologist_id]").selectOption("psy-baraka");
  const days = await freeDays(form);
  assert.match(await form.locator(".slot-picker legend").innerText(), /Europe\/London/);
  assert.match(await form.locator(".slot-status").innerText(), /works in Africa\/Nairobi time/);
  assert.ok(days.every((d) => /^(Mon|Tue|Wed|Thu|Sun)/.test(d)), days.join(", "));
  // the last Sunday shown is a week or more ahead: clear of notice and of the demo's sessions
  const sundayIndex = days.findLastIndex((d) => d.startsWith("Sun"));
  assert.ok(sundayIndex >= 0, days.join(", "));
  await form.locator("[name=day]").selectOption({ index: sundayIndex });
  const options = await form.locator("[name=starts_at] option").evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  // 60-minute sessions from 10:00 to 11:00 Nairobi, labelled in London time
  assert.deepEqual(options.map(([v]) => clockIn(v, "Africa/Nairobi")), ["10:00", "10:15", "10:30", "10:45", "11:00"]);
  assert.deepEqual(options.map(([, label]) => label), options.map(([v]) => clockIn(v, "Europe/London")));
  await accessible(client, "the booking form's slot picker");
  await shot(client, "client-slot-picker-london");
  const [res] = await Promise.all([
    client.waitForResponse((r) => r.url().endsWith("/api/sessions") && r.request().method() === "POST"),
    form.getByRole("button", { name: "Request session" }).click(),
  ]);
  assert.equal(res.status(), 201, await res.text());
  const booked = await res.json();
  assert.equal(new Date(booked.starts_at).getTime(), new Date(options[0][0]).getTime());
  assert.equal(clockIn(booked.starts_at, "Africa/Nairobi"), "10:00");
  await card(psy, "action", booked.id).waitFor({ timeout: 10 * SECOND });
  await client.context().close();
  await psy.context().close();
});

test("an action sends the card's version, and a poll that started before it never draws over its result", async () => {
  const client = await signIn("Kevin Mwangi", { width: 390, height: 844 });
  const psy = await signIn("Dr. Amani Njeri", { width: 1280, height: 900 });
  const id = await book(client, 11);
  await card(psy, "action", id).waitFor({ timeout: 10 * SECOND });
  const version = await psy.evaluate(async (sid) => {
    const r = await fetch(`/api/sessions/${sid}`, { headers: { authorization: `Bearer ${sessionStorage.getItem("kikao.token")}` } });
    return (await r.json()).version;
  }, id);

  // the next poll is answered with the list as it was when it was asked, 1.5 s late
  let hold = true;
  const held = [];
  await psy.route((url) => url.pathname === "/api/sessions" && url.searchParams.has("since"), async (route) => {
    if (!hold) return route.continue();
    hold = false;
    // every change from long ago (not a 304), as it is before the approval: the booking pending
    const headers = { ...route.request().headers() };
    delete headers["if-none-match"];
    const url = new URL(route.request().url());
    url.searchParams.set("since", "2000-01-01T00:00:00Z");
    const stale = await route.fetch({ url: url.toString(), headers });
    held.push("asked");
    await new Promise((r) => setTimeout(r, 1500));
    held.push("answered");
    await route.fulfill({ response: stale });
  });
  await psy.waitForFunction(() => document.querySelector("#updated")?.textContent === "Refreshing…");
  await psy.evaluate((sid) => {
    // from the click on: was the booking ever drawn as pending again?
    window.__backToPending = false;
    new MutationObserver(() => {
      if (document.querySelector(`article[data-id="${sid}"].status-pending_approval`)) window.__backToPending = true;
    }).observe(document.body, { childList: true, subtree: true });
  }, id);
  const [approve] = await Promise.all([
    psy.waitForRequest((r) => r.url().endsWith(`/api/sessions/${id}/approve`)),
    card(psy, "action", id).getByRole("button", { name: "Approve" }).click(),
  ]);
  assert.equal(approve.headers()["if-match"], `"${version}"`, "the version the card showed");
  await card(psy, "waiting", id).waitFor();
  await psy.waitForFunction(() => !document.querySelector("#updated")?.textContent.startsWith("Refreshing"));
  assert.deepEqual(held, ["asked", "answered"], "the slow poll ran across the action");
  await psy.waitForTimeout(1500);
  await card(psy, "waiting", id).waitFor();
  assert.equal(await psy.evaluate(() => window.__backToPending), false, "the stale list never replaced the approval");

  await client.context().close();
  await psy.context().close();
});

test("polls come fast while the other person is expected to answer, slowly otherwise, and go on while the tab is hidden", async () => {
  // the spells shortened to seconds, 30 s between polls otherwise, as deployed
  const spells = { poll_ms: 30 * SECOND, fast_poll_ms: SECOND, fast_poll_for_ms: 4 * SECOND, hidden_poll_ms: 1.5 * SECOND };
  const client = await signIn("Kevin Mwangi", { width: 390, height: 844 }, spells);
  const clientPolls = [];
  client.on("request", (r) => {
    if (isPoll(r.url())) clientPolls.push(Date.now());
  });
  await client.waitForTimeout(SECOND);
  // a new request waits on the psychologist: the client's page watches closely for a while too
  const first = await book(client, 1, "psy-baraka");
  const requested = Date.now();
  await client.waitForTimeout(4 * SECOND);
  assert.ok(clientPolls.filter((t) => t >= requested + 0.5 * SECOND && t < requested + 3.5 * SECOND).length >= 2,
    `fast polls after booking: ${clientPolls.map((t) => t - requested)}`);
  const psy = await signIn("Dr. Baraka Otieno", { width: 1280, height: 900 }, spells);
  const polls = [];
  psy.on("request", (r) => {
    if (isPoll(r.url())) polls.push(Date.now());
  });
  const between = (from, to) => polls.filter((t) => t >= from && t < to).length;
  await card(psy, "action", first).waitFor();
  await psy.waitForTimeout(2 * SECOND);
  const quiet = Date.now();
  assert.equal(between(quiet - 1.5 * SECOND, quiet), 0, "30 s apart while nobody is expected to answer");

  // approved: now the client must pay, so the psychologist's page watches closely for a while
  await card(psy, "action", first).getByRole("button", { name: "Approve" }).click();
  await card(psy, "waiting", first).waitFor();
  const approved = Date.now();
  await psy.waitForTimeout(9 * SECOND);
  assert.ok(between(approved + 0.5 * SECOND, approved + 3.5 * SECOND) >= 2, `fast polls: ${polls.map((t) => t - approved)}`);
  assert.equal(between(approved + 6 * SECOND, approved + 9 * SECOND), 0, `then slow again: ${polls.map((t) => t - approved)}`);

  // the psychologist allows browser notifications
  const alerts = psy.getByRole("button", { name: "Notify me" });
  await alerts.waitFor();
  await psy.context().grantPermissions(["notifications"], { origin: base });
  await alerts.click();
  await psy.locator(".toast", { hasText: "You will be notified" }).waitFor();
  await alerts.waitFor({ state: "hidden" });
  await psy.evaluate(() => {
    // what the page shows the browser, on its way to the browser
    window.__shown = [];
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.__shown.push(`${title}: ${options?.body}`);
      }
    };
  });

  // hidden: it still polls (every 2 minutes as deployed), the title's count follows, and the
  // browser shows the new request
  await psy.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    Object.defineProperty(document, "hidden", { value: true, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  const titled = Number((await psy.title()).match(/^\((\d+)\)/)?.[1] ?? 0);
  await book(client, 2, "psy-baraka");
  await psy.waitForFunction((n) => document.title === `(${n + 1}) Kikao`, titled, { timeout: 10 * SECOND });
  assert.deepEqual(await psy.evaluate(() => window.__shown), ["Kikao: New booking request!"]);
  await client.context().close();
  await psy.context().close();
});

/** A picture of one part of the page: the notifications gone and what sticks to the screen
 * back in the flow, so nothing covers it (script sets styles, which the page's CSP allows). */
function forPicture(page) {
  return page.evaluate(() => {
    for (const t of document.querySelectorAll(".toast")) t.remove();
    for (const e of document.querySelectorAll("body *")) {
      if (["sticky", "fixed"].includes(getComputedStyle(e).position)) e.style.position = "static";
    }
  });
}

/** Now in Nairobi as a statement prints a completion time: `2026-11-28 21:47:05`. */
function statementNow() {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: "Africa/Nairobi", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

test("a psychologist checks payments against their M-Pesa statement and verifies the one it proves in one action", async () => {
  const client = await signIn("Wanjiru Kamau", { width: 390, height: 844 });
  const psy = await signIn("Dr. Amani Njeri", { width: 1280, height: 900 });
  const proved = await book(client, 5);
  const unproved = await book(client, 6);
  for (const [id, code] of [[proved, "UB1STM0001"], [unproved, "UB1STM0002"]]) {
    await card(psy, "action", id).waitFor({ timeout: 10 * SECOND });
    await card(psy, "action", id).getByRole("button", { name: "Approve" }).click();
    const pay = card(client, "action", id);
    await pay.waitFor({ timeout: 10 * SECOND });
    await pay.locator("input[name=transaction_code]").fill(code);
    await pay.getByRole("button", { name: "Submit Payment Proof" }).click();
    await card(psy, "action", id).getByText(code).waitFor({ timeout: 10 * SECOND });
  }
  const price = (await card(psy, "action", proved).innerText()).match(/KSh ([\d,]+)/)[1].replace(/,/g, "");
  // the statement as the mpesa2csv converter writes it; only the first code is on it
  const csv = "\ufeffReceipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\r\n"
    + `UB1STM0001,${statementNow()},Funds received from - 07******482 WANJIRU KAMAU,Completed,${price},,9000\r\n`
    + `UB1STM9999,${statementNow()},Customer Transfer to - 07******915 MERCY AKINYI,Completed,,300,8700\r\n`;
  const panel = psy.locator("#statement");
  // the dev server's sample statement has each waiting payment received, for trying the panel
  const [download] = await Promise.all([
    psy.waitForEvent("download"),
    panel.getByRole("button", { name: "Download a sample statement of these payments" }).click(),
  ]);
  const sample = await fs.readFile(await download.path(), "utf8");
  assert.match(sample, /^Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\r\n/);
  assert.match(sample, /\nUB1STM0001,[0-9-]+ [0-9:]+,Funds received from - 07\*{6}\d{3} WANJIRU KAMAU,Completed,\d+,,\d+\r\n/);
  assert.match(sample, /\nUB1STM0002,/);
  await panel.locator("input[name=file]").setInputFiles({ name: "statement.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await panel.getByRole("button", { name: "Check payments" }).click();
  const verify = panel.getByRole("button", { name: "Verify 1 matching payment" });
  await verify.waitFor({ timeout: 10 * SECOND });
  const said = await panel.locator("#statement-result").innerText();
  assert.match(said, /Read 2 transactions/);
  assert.match(said, /Paid by WANJIRU KAMAU \(07\*\*\*\*\*\*482\)/);
  assert.match(said, /Not proved by this statement/);
  assert.match(said, /This code is not on the statement, which covers the time it was paid/);
  await shot(psy, "psychologist-statement-check");
  await accessible(psy, "the statement check with its results");
  await verify.click();
  await panel.getByText("Verified 1 payment; the client has the meeting link.").waitFor();
  // the proved booking is confirmed on both dashboards; the other still waits for its check
  await card(psy, "upcoming", proved).waitFor({ timeout: 10 * SECOND });
  await card(client, "upcoming", proved).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", unproved).waitFor();
  await client.context().close();
  await psy.context().close();
});

test("a psychologist paid through a Paybill: the client's payment confirms itself, one without the reference is attached by hand, and a payment request on the phone pays", async () => {
  const client = await signIn("Wanjiru Kamau", { width: 390, height: 844 });
  const psy = await signIn("Dr. Baraka Otieno", { width: 1280, height: 900 });
  // the psychologist says clients pay to their Paybill (a fresh sign-in allows it)
  await psy.getByRole("button", { name: "Profile" }).click();
  const profile = psy.locator("#profile-form");
  await profile.locator("[name=payment_method]").selectOption("paybill");
  await profile.locator("[name=business_number]").fill("600123");
  await accessible(psy, "the profile with a Paybill");
  await profile.getByRole("button", { name: "Save" }).click();
  await psy.getByText("Profile saved.").waitFor();
  const unmatched = psy.locator("#unmatched");
  await unmatched.getByText("Every M-Pesa payment into your account matched a booking.").waitFor();

  const paid = await book(client, 2, "psy-baraka");
  const byHand = await book(client, 3, "psy-baraka");
  for (const id of [paid, byHand]) {
    await card(psy, "action", id).waitFor({ timeout: 10 * SECOND });
    await card(psy, "action", id).getByRole("button", { name: "Approve" }).click();
  }
  const pay = card(client, "action", paid);
  await pay.locator(".instructions[data-method=paybill]").waitFor({ timeout: 10 * SECOND });
  const told = await pay.locator(".instructions").innerText();
  assert.match(told, /Pay Bill\. Business number 600123, account number KK[0-9A-Z]{6}, amount KSh [\d,]+\./);
  assert.match(told, /confirmed as soon as M-Pesa tells Kikao/);
  await forPicture(client);
  await pay.screenshot({ path: path.join(shots, "client-paybill-instructions.png") });
  await accessible(client, "a booking to pay through a Paybill");
  // the dev server pays as the client would, and posts M-Pesa's report to Kikao's callback
  await pay.getByRole("button", { name: "Pay it by M-Pesa (dev server stand-in)" }).click();
  await card(client, "upcoming", paid).waitFor({ timeout: 10 * SECOND });
  const confirmed = card(psy, "upcoming", paid);
  await confirmed.waitFor({ timeout: 10 * SECOND });
  assert.match(await confirmed.innerText(), /by M-Pesa, confirmed automatically/);

  // a relative pays, typing the client's name as the account: M-Pesa's report reaches the
  // callback and matches nothing by itself
  const bearer = await psy.evaluate(() => sessionStorage.getItem("kikao.token"));
  const urls = await (await fetch(`${base}/dev/mpesa/callback-urls`, { headers: { authorization: `Bearer ${bearer}` } })).json();
  assert.match(urls.confirmation_url, /\/api\/hooks\/600123-[0-9a-f]{32}\/c2b\/confirmation$/);
  const price = (await card(psy, "waiting", byHand).innerText()).match(/KSh ([\d,]+)/)[1].replace(/,/g, "");
  const report = JSON.parse(await fs.readFile(path.join(import.meta.dirname, "../fixtures/daraja/c2b_confirmation_paybill.json"), "utf8"));
  // M-Pesa's time, Nairobi's, as YYYYMMDDHHmmss
  const transTime = statementNow().replace(/[- :]/g, "");
  Object.assign(report, { TransID: "UB1UNM0001", TransTime: transTime, TransAmount: `${price}.00`, BusinessShortCode: "600123", BillRefNumber: "WANJIRU", FirstName: "JOHN" });
  const res = await fetch(urls.confirmation_url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(report) });
  assert.deepEqual(await res.json(), { ResultCode: 0, ResultDesc: "Success" });
  // forged: the same report down a made-up path changes nothing
  const forged = await fetch(urls.confirmation_url.replace(/-[0-9a-f]{32}\//, `-${"0".repeat(32)}/`), { method: "POST", body: JSON.stringify(report) });
  assert.equal(forged.status, 404);

  await unmatched.getByRole("button", { name: "Check again" }).click();
  const item = unmatched.locator("[data-unmatched=UB1UNM0001]");
  await item.waitFor();
  assert.match(await item.innerText(), /No booking reference was typed as the account/);
  await item.locator("select").selectOption(byHand);
  await forPicture(psy);
  await unmatched.screenshot({ path: path.join(shots, "psychologist-unmatched-payment.png") });
  await accessible(psy, "the unmatched payments panel");
  await item.getByRole("button", { name: "Attach" }).click();
  await psy.getByText("Payment UB1UNM0001 attached; the session is confirmed and the client has the meeting link.").waitFor();
  await card(psy, "upcoming", byHand).waitFor({ timeout: 10 * SECOND });
  await card(client, "upcoming", byHand).waitFor({ timeout: 10 * SECOND });
  await unmatched.getByText("Every M-Pesa payment into your account matched a booking.").waitFor();

  // the payment request on the phone (Lipa na M-Pesa Online): cancelled once, then paid
  const onPhone = await book(client, 4, "psy-baraka");
  await card(psy, "action", onPhone).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", onPhone).getByRole("button", { name: "Approve" }).click();
  const due = card(client, "action", onPhone);
  await due.locator(".instructions").waitFor({ timeout: 10 * SECOND });
  await due.getByRole("button", { name: /^Pay KSh [\d,]+ now$/ }).click();
  await due.getByText("Check your phone: enter your M-Pesa PIN to pay.").waitFor();
  await accessible(client, "a payment request waiting on the phone");
  await due.getByRole("button", { name: "Cancel on the phone" }).click();
  await client.locator(".toast", { hasText: "You cancelled the payment request on your phone." }).waitFor({ timeout: 10 * SECOND });
  // the request times out on the phone and Safaricom's callback is lost: a minute on, reading it
  // asks Safaricom, and the page says what happened
  await due.getByRole("button", { name: /^Pay KSh [\d,]+ now$/ }).click();
  const lost = await due.getByRole("button", { name: "Enter the PIN" }).getAttribute("data-phone");
  const phone = await fetch(`${base}/dev/mpesa/stk/${lost}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ result_code: 1037, lose_callback: true }) });
  assert.deepEqual(await phone.json(), { callback_status: null });
  await fetch(`${base}/dev/clock`, { method: "POST", body: JSON.stringify({ advance_minutes: 1 }) });
  await client.locator(".toast", { hasText: "The payment request timed out before the PIN was entered." }).waitFor({ timeout: 10 * SECOND });
  await due.getByRole("button", { name: /^Pay KSh [\d,]+ now$/ }).click();
  await due.getByRole("button", { name: "Enter the PIN" }).click();
  await card(client, "upcoming", onPhone).waitFor({ timeout: 10 * SECOND });
  await client.locator(".toast", { hasText: /^Paid: M-Pesa receipt [0-9A-Z]{10}\. Your session is confirmed\.$/ }).waitFor();
  await card(psy, "upcoming", onPhone).waitFor({ timeout: 10 * SECOND });
  await client.context().close();
  await psy.context().close();
});

test("each change the other person makes is announced, good news in green and bad in red: confirmed, started, completed, a new time declined, cancelled", async () => {
  const client = await signIn("Fatuma Hassan", { width: 390, height: 844 });
  const psy = await signIn("Dr. Baraka Otieno", { width: 1280, height: 900 });
  const wanjiru = await signIn("Wanjiru Kamau", { width: 390, height: 844 });
  const said = (page, kind, text) => page.locator(`.toast-${kind}`, { hasText: text }).first().waitFor({ timeout: 10 * SECOND });

  // the session under way stands out on the psychologist's schedule, with what to do next
  const current = psy.locator("[data-section=upcoming] article.current");
  await current.first().waitFor();
  assert.match(await current.first().innerText(), /Session in Progress[\s\S]*Complete Session/);
  // the client's upcoming sessions come by start time, the soonest first
  // (the first list may still be on its way: wait for it)
  await wanjiru.waitForFunction(() => document.querySelectorAll("[data-section=upcoming] article time").length >= 2,
    null, { timeout: 10 * SECOND });
  const starts = await wanjiru.locator("[data-section=upcoming] article time").evaluateAll((ts) => ts.map((t) => t.dateTime));
  assert.deepEqual(starts, [...starts].sort((a, b) => new Date(a) - new Date(b)));

  // the demo's proposal of Wanjiru's, kept at its time by Dr. Baraka, then the booking cancelled
  const proposed = psy.locator("article", { hasText: "Wanjiru Kamau" }).filter({ has: psy.getByRole("button", { name: "Keep current time" }) }).first();
  await proposed.getByRole("button", { name: "Keep current time" }).click();
  await said(wanjiru, "info", "Your proposed time was declined; the session keeps its time.");
  const kept = psy.locator("article[data-session-id]", { hasText: "Wanjiru Kamau" }).filter({ has: psy.getByRole("button", { name: "Cancel" }) }).first();
  await kept.getByRole("button", { name: "Cancel" }).click();
  await answerDialog(psy, "I am unwell that day.");
  await said(wanjiru, "error", "A booking was cancelled.");

  // Fatuma's new booking: confirmed, then (the server's clock moved to ten minutes before it)
  // started and completed
  const id = await book(client, 5, "psy-baraka");
  await card(psy, "action", id).waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", id).getByRole("button", { name: "Approve" }).click();
  const pay = card(client, "action", id);
  await pay.locator("input[name=transaction_code]").waitFor({ timeout: 10 * SECOND });
  await pay.locator("input[name=transaction_code]").fill("UB1ANN0001");
  await pay.getByRole("button", { name: "Submit Payment Proof" }).click();
  await card(psy, "action", id).getByText("UB1ANN0001").waitFor({ timeout: 10 * SECOND });
  await card(psy, "action", id).getByRole("button", { name: "Verify Payment" }).click();
  await said(client, "notice", "Confirmed! Your session is ready.");
  const startsAt = (await (await fetch(`${base}/dev/login`, { method: "POST", body: JSON.stringify({ user_id: "client-fatuma" }) }).then((r) => r.json()).then(({ token }) =>
    fetch(`${base}/api/sessions/${id}`, { headers: { authorization: `Bearer ${token}` } }))).json()).starts_at;
  const { now } = await (await fetch(`${base}/dev/clock`, { method: "POST", body: JSON.stringify({ advance_minutes: 1 }) })).json();
  const minutes = Math.floor((new Date(startsAt) - new Date(now)) / 60000) - 10;
  await fetch(`${base}/dev/clock`, { method: "POST", body: JSON.stringify({ advance_minutes: minutes }) });
  await psy.getByRole("button", { name: "Refresh" }).click();
  await card(psy, "upcoming", id).getByRole("button", { name: "Start Session" }).click();
  await said(client, "notice", "Your session has started.");
  await psy.locator(`article[data-session-id="${id}"]`).getByRole("button", { name: "Complete Session" }).click();
  await said(client, "info", "Session completed.");
  await accessible(client, "the client's page after the announcements");
  for (const p of [client, psy, wanjiru]) await p.context().close();
});

test("no console errors or warnings on either dashboard", () => {
  // Chromium logs every refused request itself; the only ones expected are the deliberate 409
  // of the rollback check, the 422 of the bad phone number, the 422 of the wrong phone code, and
  // the 422 `not_a_payment` of the preview of a message about money received (which a slow
  // machine may preview twice, as typing pauses), and the 403 `consent_required` of the new
  // client who books before accepting the privacy notice, and the 422 of her mistyped
  // confirmation when she deletes her account
  const expected = new Set([
    "Wanjiru Kamau: 409 POST /api/sessions/{id}/submit-payment",
    "Wanjiru Kamau: 422 POST /api/payments/parse-mpesa",
    "Kevin Mwangi: 422 PUT /api/me",
    "Kevin Mwangi: 422 POST /dev/phone/verify",
    "Akinyi Odhiambo: 403 POST /api/sessions",
    "Akinyi Odhiambo: 422 DELETE /api/me",
  ]);
  const seen = refusals.map((r) => r.replace(/\/api\/sessions\/[0-9a-f-]{36}/, "/api/sessions/{id}"));
  assert.deepEqual(new Set(seen), expected, refusals.join("\n"));
  const logged = problems.filter((p) => p.includes("Failed to load resource"));
  assert.equal(logged.length, refusals.length, `${problems.join("\n")}\n---\n${refusals.join("\n")}`);
  assert.deepEqual(problems.filter((p) => !logged.includes(p)), []);
});
