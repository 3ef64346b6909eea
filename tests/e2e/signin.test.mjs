// Sign-in as deployed, in Chromium: the dashboards in Cognito mode against a standards OpenID
// provider configured like the pool (oidc.mjs), and the dev server checking its RS256 tokens as
// API Gateway's JWT authorizer does (`--oidc-issuer`, `--oidc-audience`). The hosted sign-in
// with code, PKCE and `state`; the right page for each group; a token renewed before it expires
// without the page losing what it holds; sign-out that ends the provider's session; the first
// sign-in whose group comes after the first token; and each way a sign-in can go wrong ending on
// the sign-in page with a sentence.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, exitSoon, accessible, shot, SECOND } from "./harness.mjs";
import { startProvider } from "./oidc.mjs";

const PASSWORD = "Correct-Horse-42";
const person = (sub, name, email, phone, groups, mfa = false) =>
  ({ sub, name, email, password: PASSWORD, phone_number: phone, phone_number_verified: true, groups, mfa });
// the demo people's ids, so the demo bookings are theirs
const ACCOUNTS = [
  person("client-wanjiru", "Wanjiru Kamau", "wanjiru@example.test", "+254700000201", ["clients"]),
  person("psy-amani", "Dr. Amani Njeri", "amani@example.test", "+254700000101", ["psychologists"], true),
  person("admin-nia", "Nia Wambui", "nia@example.test", "+254700000301", ["practice_admins"], true),
  person("client-new-1", "Akinyi Odhiambo", "akinyi@example.test", "+254700000211", []),
];
// ID tokens live 125 s: the page renews those with under two minutes left, 5 s after issue
const ID_TOKEN_TTL = 125;

let idp;
let server;
let browser;
const problems = [];

before(async () => {
  idp = await startProvider({ accounts: ACCOUNTS, idTokenTtl: ID_TOKEN_TTL });
  server = await start("signin", ["--oidc-issuer", idp.issuer, "--oidc-audience", idp.clientId]);
  idp.addClientUris({ redirect: `${server.base}/`, logout: `${server.base}/` });
  browser = server.browser;
});

after(async () => {
  await server?.stop();
  await idp?.stop();
  exitSoon("signin");
});

/** A fresh browser context on `base`, polling every second (the server's config.json, with the
 * poll made short), collecting console problems. */
async function open(base = server.base, config = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Africa/Nairobi" });
  const served = await (await fetch(`${base}/config.json`)).json();
  await context.route(`${base}/config.json`, (route) =>
    route.fulfill({ json: { ...served, poll_ms: SECOND, ...config, cognito: { ...served.cognito, ...config.cognito } } }));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("Failed to load resource")) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  return page;
}

const stored = (page, key) => page.evaluate((k) => sessionStorage.getItem(k), key);

/** From the sign-in page through the provider's form, as a person would. */
async function signIn(page, email, base = server.base) {
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Sign in or create an account" }).click();
  await page.waitForURL(`${idp.issuer}/**`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("the hosted sign-in (code, PKCE, state) lands each group on its page, and the API takes the token", async () => {
  const page = await open();
  await page.goto(`${server.base}/`);
  await accessible(page, "the sign-in page in Cognito mode");
  const [authorize] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(`${idp.issuer}/oauth2/authorize`)),
    page.getByRole("button", { name: "Sign in or create an account" }).click(),
  ]);
  const q = new URL(authorize.url()).searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.match(q.get("state"), /^[\w-]{20,}$/);
  assert.match(q.get("scope"), /\bopenid\b/);
  await page.getByLabel("Password").waitFor();
  await page.getByLabel("Email").fill("wanjiru@example.test");
  await page.getByLabel("Password").fill("not-her-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Incorrect username or password." }).waitFor();
  await page.getByLabel("Password").fill(PASSWORD);
  const [me] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${server.base}/api/me`),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  assert.equal(me.status(), 200);
  assert.equal((await me.json()).name, "Wanjiru Kamau");
  await page.waitForURL(`${server.base}/dashboard.html`);
  await page.locator("#who", { hasText: "Wanjiru Kamau · Client" }).waitFor();
  await page.locator("#sections article").first().waitFor();
  for (const key of ["kikao.token", "kikao.access", "kikao.refresh"]) assert.ok(await stored(page, key), key);
  assert.equal(await stored(page, "kikao.state"), null, "the state is spent");
  await shot(page, "cognito-client-dashboard");
  await page.context().close();

  const psy = await open();
  await signIn(psy, "amani@example.test");
  await psy.waitForURL(`${server.base}/dashboard.html`);
  await psy.locator("#who", { hasText: "Dr. Amani Njeri · Psychologist" }).waitFor();
  assert.equal(await psy.locator("#mfa-banner").isHidden(), true, "her token says two-step sign-in is on");
  await psy.context().close();

  const admin = await open();
  await signIn(admin, "nia@example.test");
  await admin.waitForURL(`${server.base}/admin.html`);
  await admin.getByRole("cell", { name: "Dr. Baraka Otieno" }).waitFor();
  await admin.context().close();
});

test("the token is renewed before it expires, and the page keeps what it holds", async () => {
  const page = await open();
  await signIn(page, "wanjiru@example.test");
  await page.waitForURL(`${server.base}/dashboard.html`);
  await page.locator("#sections article").first().waitFor();
  const first = await stored(page, "kikao.token");
  const note = page.locator("#book-form [name=note]");
  await note.fill("Half-typed when the token was renewed.");
  const refreshes = idp.calls.token.filter((c) => c.grant_type === "refresh_token").length;
  // the poll (every second) finds under two minutes left and renews first
  await page.waitForFunction((t) => sessionStorage.getItem("kikao.token") !== t, first, { timeout: 20 * SECOND });
  assert.ok(idp.calls.token.filter((c) => c.grant_type === "refresh_token").length > refreshes);
  const claims = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url"));
  const renewed = claims(await stored(page, "kikao.token"));
  assert.ok(renewed.exp > claims(first).exp, "a later expiry");
  assert.equal(renewed.auth_time, claims(first).auth_time, "the same sign-in");
  // the next poll carries the new token and is answered
  const [poll] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${server.base}/api/sessions`)),
  ]);
  assert.ok([200, 304].includes(poll.status()), String(poll.status()));
  assert.equal(await note.inputValue(), "Half-typed when the token was renewed.");
  assert.equal(page.url(), `${server.base}/dashboard.html`);
  await page.context().close();
});

test("signing out forgets the tokens and ends the provider's session", async () => {
  const page = await open();
  await signIn(page, "wanjiru@example.test");
  await page.waitForURL(`${server.base}/dashboard.html`);
  const before = idp.calls.logout.length;
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in or create an account" }).waitFor();
  assert.equal(page.url(), `${server.base}/`);
  assert.deepEqual(idp.calls.logout.slice(before), [{ client_id: idp.clientId, logout_uri: `${server.base}/` }]);
  for (const key of ["kikao.token", "kikao.access", "kikao.refresh", "kikao.user"]) {
    assert.equal(await stored(page, key), null, `${key} is gone`);
  }
  assert.equal(await page.locator("#status").innerText(), "", "a chosen sign-out needs no explanation");
  // the provider asks for the password again
  await page.getByRole("button", { name: "Sign in or create an account" }).click();
  await page.getByLabel("Password").waitFor();
  await page.context().close();
});

test("a first sign-in whose group arrives after the first token still reaches the dashboard", async () => {
  const page = await open();
  idp.setGroups("client-new-1", []);
  const refused = [];
  page.on("response", async (r) => {
    if (r.url() === `${server.base}/api/me` && r.status() === 403) refused.push((await r.json()).error.code);
  });
  // Cognito's sign-up trigger puts her in `clients` just after her first token is made
  page.on("response", (r) => {
    if (r.url() === `${idp.issuer}/oauth2/token`) idp.setGroups("client-new-1", ["clients"]);
  });
  await signIn(page, "akinyi@example.test");
  await page.waitForURL(`${server.base}/dashboard.html`);
  await page.locator("#who", { hasText: "Akinyi Odhiambo · Client" }).waitFor();
  assert.deepEqual(refused, ["no_role"], "one refusal, then a new token with the group");
  await page.locator("#book-form").waitFor();
  await page.context().close();
});

test("a tampered state, a replayed code, an expired refresh token and a token for another audience each end on the sign-in page with a sentence", async () => {
  // tampered: an answer arrives with a state this page never made (a link someone sent, with
  // their own code in it: login CSRF) while this page's own sign-in is under way
  let page = await open();
  const exchanges = idp.calls.token.length;
  await page.goto(`${server.base}/`);
  await page.getByRole("button", { name: "Sign in or create an account" }).click();
  await page.getByLabel("Password").waitFor();
  await page.goto(`${server.base}/?code=someone-elses-code&state=forged-state-from-elsewhere`);
  await page.locator("#status", { hasText: "did not start on this page" }).waitFor();
  assert.equal(idp.calls.token.length, exchanges, "the code was never exchanged");
  assert.equal(await stored(page, "kikao.token"), null);
  assert.equal(new URL(page.url()).search, "", "the address no longer carries the code");
  await accessible(page, "the sign-in page saying why");
  await shot(page, "cognito-signin-refused");
  await page.context().close();

  // replayed: the same code and verifier a second time
  page = await open();
  let exchange;
  page.on("request", (r) => {
    if (r.url() === `${idp.issuer}/oauth2/token` && r.postData()?.includes("authorization_code")) exchange ??= r.postData();
  });
  let callback;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame() && f.url().includes("code=")) callback ??= f.url();
  });
  await signIn(page, "wanjiru@example.test");
  await page.waitForURL(`${server.base}/dashboard.html`);
  const verifier = new URLSearchParams(exchange).get("code_verifier");
  const state = new URL(callback).searchParams.get("state");
  // off the dashboard first (to a page of the same origin with no script), so its polling
  // cannot sign out under the test's hands
  await page.goto(`${server.base}/css/base.css`);
  await page.evaluate(([v, s]) => {
    sessionStorage.clear();
    sessionStorage.setItem("kikao.pkce", v);
    sessionStorage.setItem("kikao.state", s);
  }, [verifier, state]);
  const tried = idp.calls.token.length;
  await page.goto(callback);
  await page.locator("#status", { hasText: "already been used or has expired" }).waitFor();
  assert.deepEqual(idp.calls.token.slice(tried).map((c) => [c.grant_type, c.status, c.error]),
    [["authorization_code", 400, "invalid_grant"]], "the provider refused the second exchange");
  assert.equal(await stored(page, "kikao.token"), null);
  await page.context().close();

  // an expired refresh token, when the token held is no longer taken
  page = await open();
  await signIn(page, "wanjiru@example.test");
  await page.waitForURL(`${server.base}/dashboard.html`);
  await page.locator("#sections article").first().waitFor();
  idp.expireRefreshTokens();
  await page.evaluate(() => {
    const [h, p] = sessionStorage.getItem("kikao.token").split(".");
    sessionStorage.setItem("kikao.token", `${h}.${p}.${"A".repeat(342)}`); // a signature the API refuses
  });
  await page.waitForURL(`${server.base}/`, { timeout: 20 * SECOND });
  await page.locator("#status", { hasText: "Your sign-in has expired or was ended" }).waitFor();
  assert.equal(await stored(page, "kikao.refresh"), null);
  await page.context().close();

  // another audience: a server that takes tokens for another app client only
  const other = await start("signin-audience", ["--oidc-issuer", idp.issuer, "--oidc-audience", "another-app-client"]);
  try {
    idp.addClientUris({ redirect: `${other.base}/`, logout: `${other.base}/` });
    page = await open(other.base, { cognito: { client_id: idp.clientId } });
    const authorizations = () => idp.calls.token.filter((c) => c.grant_type === "authorization_code").length;
    await signIn(page, "wanjiru@example.test", other.base);
    await page.locator("#status", { hasText: "Your sign-in has expired or was ended" }).waitFor({ timeout: 20 * SECOND });
    const settled = authorizations();
    await page.waitForTimeout(2 * SECOND);
    assert.equal(page.url(), `${other.base}/`, "it stays on the sign-in page");
    assert.equal(authorizations(), settled, "no sign-in loop");
    await page.context().close();
  } finally {
    await other.stop();
  }
});

test("no console errors on any of it", () => {
  assert.deepEqual(problems, []);
});
