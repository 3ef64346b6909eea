// The Cognito stand-in (oidc.mjs) checked on its own with plain fetch, before any browser test
// leans on it: discovery and JWKS, the code flow with PKCE through our sign-in form, the ID token
// carrying Cognito's claims, code replay and PKCE refusals, refresh with the account as it is now,
// expired refresh tokens, Cognito-style /logout ending the session, key rotation, and CORS on the
// token endpoint for the dev server's origin.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { exitSoon } from "./harness.mjs";
import { startProvider } from "./oidc.mjs";

const SCOPE = "openid email phone profile aws.cognito.signin.user.admin made.up.scope";
const AMINA = {
  sub: "5f1a6c2e-amina", email: "amina@example.test", password: "correct horse", name: "Amina Otieno",
  phone_number: "+254700000001", phone_number_verified: true, groups: ["clients"], mfa: false,
};
const BARAKA = {
  sub: "7d0c9b3a-baraka", email: "baraka@example.test", password: "battery staple", name: "Dr. Baraka Mwangi",
  phone_number: "+254700000002", phone_number_verified: false, groups: ["psychologists", "practice_admins"], mfa: true,
};
// The dev server's port is known only after the provider starts: these are added afterwards.
const APP = "http://127.0.0.1:9";
const CALLBACK = `${APP}/signin.html`;
const SIGNED_OUT = `${APP}/`;

let op;

before(async () => {
  op = await startProvider({ accounts: [{ ...AMINA }, { ...BARAKA }], idTokenTtl: 300 });
  op.addClientUris({ redirect: CALLBACK, logout: SIGNED_OUT });
});

after(async () => {
  await op?.stop();
  exitSoon("oidc");
});

// --- a browser's part, by hand: cookies carried between manual redirects -------------------

/** name -> value, as a browser would send them back to the provider (paths ignored). */
const newJar = () => new Map();

async function go(jar, url, { method = "GET", form, headers = {} } = {}) {
  const res = await fetch(new URL(url, op.issuer), {
    method,
    redirect: "manual",
    headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "), ...headers },
    body: form ? new URLSearchParams(form) : undefined,
  });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(";");
    const name = pair.slice(0, pair.indexOf("="));
    const value = pair.slice(pair.indexOf("=") + 1);
    const gone = !value || attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a));
    if (gone) jar.delete(name);
    else jar.set(name, value);
  }
  return res;
}

const location = (res) => new URL(res.headers.get("location"), op.issuer);

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(challenge, state = randomBytes(8).toString("hex"), extra = {}) {
  const q = new URLSearchParams({
    response_type: "code", client_id: op.clientId, redirect_uri: CALLBACK, scope: SCOPE, state,
    code_challenge: challenge, code_challenge_method: "S256", ...extra,
  });
  return `/oauth2/authorize?${q}`;
}

/** Follows redirects on the provider's origin; stops at the first page or foreign redirect. */
async function follow(jar, res) {
  while (res.status >= 300 && res.status < 400 && location(res).origin === op.issuer) {
    res = await go(jar, location(res));
  }
  return res;
}

/** Signs in through the form (when asked) and returns the callback's query. */
async function signIn(jar, who, { challenge, state = "st-" + randomBytes(4).toString("hex") } = {}) {
  let res = await follow(jar, await go(jar, authorizeUrl(challenge, state)));
  if (res.status === 200) {
    const form = await res.text();
    assert.match(form, /<label for="email">Email<\/label>/);
    const action = /action="([^"]+)"/.exec(form)[1];
    res = await follow(jar, await go(jar, action, { method: "POST", form: { email: who.email, password: who.password } }));
  }
  assert.equal(res.status, 303, "back to the site");
  const back = location(res);
  assert.equal(back.origin + back.pathname, CALLBACK);
  assert.equal(back.searchParams.get("state"), state, "state passes through untouched");
  return back.searchParams;
}

const tokenCall = (params, headers = {}) => fetch(`${op.issuer}/oauth2/token`, {
  method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams({ client_id: op.clientId, ...params }),
});

const exchange = (code, verifier) =>
  tokenCall({ grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: CALLBACK });

const refresh = (refresh_token) => tokenCall({ grant_type: "refresh_token", refresh_token });

function decode(jwt) {
  const [header, payload] = jwt.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
  return { header, payload };
}

async function verifiedClaims(jwt) {
  const { header, payload } = decode(jwt);
  const { keys } = await (await fetch(`${op.issuer}/.well-known/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} published`);
  const [h, p, sig] = jwt.split(".");
  assert.ok(verify("RSA-SHA256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: "jwk" }),
    Buffer.from(sig, "base64url")), "signature verifies with the published key");
  return payload;
}

/** A fresh sign-in's token answer for `who`, in a jar of its own. */
async function tokensFor(who) {
  const { verifier, challenge } = pkce();
  const back = await signIn(newJar(), who, { challenge });
  const res = await exchange(back.get("code"), verifier);
  assert.equal(res.status, 200);
  return res.json();
}

// --- the tests --------------------------------------------------------------------------------

test("discovery names Cognito's routes and the JWKS holds an RS256 key", async () => {
  const d = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, op.issuer);
  assert.equal(d.authorization_endpoint, `${op.issuer}/oauth2/authorize`);
  assert.equal(d.token_endpoint, `${op.issuer}/oauth2/token`);
  assert.equal(d.userinfo_endpoint, `${op.issuer}/oauth2/userInfo`);
  assert.equal(d.jwks_uri, `${op.issuer}/.well-known/jwks.json`);
  assert.deepEqual(d.code_challenge_methods_supported, ["S256"]);
  const { keys } = await (await fetch(d.jwks_uri)).json();
  assert.equal(keys.length, 1);
  assert.equal(keys[0].alg, "RS256");
  assert.equal(keys[0].kty, "RSA");
  assert.ok(keys[0].kid);
  assert.equal(keys[0].d, undefined, "no private part published");
});

test("code flow with PKCE: the form refuses a wrong password, then issues Cognito-shaped tokens", async () => {
  const jar = newJar();
  const { verifier, challenge } = pkce();
  const page = await follow(jar, await go(jar, authorizeUrl(challenge, "s1")));
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<html lang="en">/);
  assert.match(html, /<h1>Sign in<\/h1>/);
  assert.match(html, /<input id="password" name="password" type="password"/);
  assert.doesNotMatch(html, /<script/);
  assert.match(page.headers.get("content-security-policy"), /default-src 'none'/);
  const action = /action="([^"]+)"/.exec(html)[1];

  const wrong = await go(jar, action, { method: "POST", form: { email: AMINA.email, password: "nope" } });
  assert.equal(wrong.status, 200);
  assert.match(await wrong.text(), /<p role="alert">Incorrect username or password\.<\/p>/);

  const right = await follow(jar, await go(jar, action, { method: "POST", form: { email: AMINA.email, password: AMINA.password } }));
  assert.equal(right.status, 303);
  const back = location(right);
  assert.equal(back.searchParams.get("state"), "s1");
  const res = await exchange(back.searchParams.get("code"), verifier);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(body.access_token && body.refresh_token && body.id_token);
  assert.equal(body.token_type, "Bearer");

  const { header } = decode(body.id_token);
  assert.equal(header.alg, "RS256");
  const { auth_time, iat, exp, ...c } = await verifiedClaims(body.id_token);
  assert.deepEqual(c, {
    iss: op.issuer, aud: op.clientId, sub: AMINA.sub, token_use: "id", name: AMINA.name, email: AMINA.email,
    email_verified: true, phone_number: AMINA.phone_number, phone_number_verified: true, "cognito:groups": ["clients"],
  }, "Cognito's claims, and no kikao_mfa without MFA");
  assert.equal(typeof auth_time, "number");
  assert.equal(exp - iat, 300, "the ID token TTL option applies");

  const userinfo = await fetch(`${op.issuer}/oauth2/userInfo`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal((await userinfo.json()).email, AMINA.email);
  assert.ok(op.calls.token.some((t) => t.grant_type === "authorization_code" && t.status === 200));
});

test("an account with MFA gets kikao_mfa; phone_number_verified stays a boolean", async () => {
  const c = decode((await tokensFor(BARAKA)).id_token).payload;
  assert.equal(c.kikao_mfa, "totp");
  assert.equal(c.phone_number_verified, false);
  assert.deepEqual(c["cognito:groups"], ["psychologists", "practice_admins"]);
});

test("a replayed code, a wrong code_verifier and a missing code_challenge are refused", async () => {
  const jar = newJar();
  const first = pkce();
  const code = (await signIn(jar, AMINA, { challenge: first.challenge })).get("code");
  assert.equal((await exchange(code, first.verifier)).status, 200);
  const replay = await exchange(code, first.verifier);
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, "invalid_grant");

  // the same jar holds the session: no form this time, straight back with a code
  const second = pkce();
  const code2 = (await signIn(jar, { email: "unused", password: "unused" }, { challenge: second.challenge })).get("code");
  const wrong = await exchange(code2, pkce().verifier);
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error, "invalid_grant");

  const res = await go(jar, authorizeUrl(undefined, "s3", { code_challenge: "", code_challenge_method: "" }));
  assert.equal(location(res).searchParams.get("error"), "invalid_request");
});

test("a refresh gives an ID token with the account as it is now, and keeps the refresh token", async () => {
  const tokens = await tokensFor(AMINA);
  op.setGroups(AMINA.sub, ["clients", "psychologists"]);
  op.setClaim(AMINA.sub, "mfa", true);
  let res = await refresh(tokens.refresh_token);
  assert.equal(res.status, 200);
  let body = await res.json();
  assert.equal(body.refresh_token, undefined, "Cognito sends no new refresh token");
  assert.ok(body.access_token);
  let c = await verifiedClaims(body.id_token);
  assert.deepEqual(c["cognito:groups"], ["clients", "psychologists"]);
  assert.equal(c.kikao_mfa, "totp");
  assert.equal(c.token_use, "id");
  assert.equal(c.aud, op.clientId);

  // Cognito leaves the claim out when the user is in no group
  op.setGroups(AMINA.sub, []);
  op.setClaim(AMINA.sub, "mfa", false);
  res = await refresh(tokens.refresh_token);
  assert.equal(res.status, 200, "the same refresh token works again");
  c = decode((await res.json()).id_token).payload;
  assert.equal("cognito:groups" in c, false);
  assert.equal("kikao_mfa" in c, false);
  op.setGroups(AMINA.sub, AMINA.groups);
});

test("expireRefreshTokens() makes every refresh token refused", async () => {
  const tokens = await tokensFor(AMINA);
  assert.equal((await refresh(tokens.refresh_token)).status, 200);
  op.expireRefreshTokens();
  const res = await refresh(tokens.refresh_token);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "invalid_grant");
  // a new sign-in still gets a working one
  assert.equal((await refresh((await tokensFor(AMINA)).refresh_token)).status, 200);
});

test("/logout ends the session and goes back only to an allowed logout_uri", async () => {
  const jar = newJar();
  await signIn(jar, AMINA, { challenge: pkce().challenge });
  const before = new Map(jar);
  assert.ok(before.has("_session"), "signed in: a session cookie");
  const logout = (uri) => go(jar, `/logout?${new URLSearchParams({ client_id: op.clientId, logout_uri: uri })}`);

  const refused = await logout("https://elsewhere.example/");
  assert.equal(refused.status, 400);
  const signedOut = await logout(SIGNED_OUT);
  assert.equal(signedOut.status, 302);
  assert.equal(signedOut.headers.get("location"), SIGNED_OUT);
  assert.deepEqual(op.calls.logout.slice(-2), [
    { client_id: op.clientId, logout_uri: "https://elsewhere.example/" },
    { client_id: op.clientId, logout_uri: SIGNED_OUT },
  ]);

  // even with the old session cookie still sent, the provider asks for the password again
  for (const j of [jar, before]) {
    const page = await follow(j, await go(j, authorizeUrl(pkce().challenge)));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h1>Sign in<\/h1>/);
  }
});

test("rotateKey() signs new ID tokens with a new published kid", async () => {
  const oldKid = decode((await tokensFor(AMINA)).id_token).header.kid;
  const kid = op.rotateKey();
  assert.notEqual(kid, oldKid);
  const { keys } = await (await fetch(`${op.issuer}/.well-known/jwks.json`)).json();
  assert.deepEqual(keys.map((k) => k.kid), [kid, oldKid], "the old key stays published");
  const tokens = await tokensFor(AMINA);
  assert.equal(decode(tokens.id_token).header.kid, kid);
  await verifiedClaims(tokens.id_token);
  // refresh tokens and sessions from before the rotation live on
  const refreshed = await (await refresh(tokens.refresh_token)).json();
  assert.equal(decode(refreshed.id_token).header.kid, kid);
});

test("the token endpoint answers CORS for the dev server's origin only", async () => {
  const origin = "http://127.0.0.1:41234";
  const preflight = await fetch(`${op.issuer}/oauth2/token`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), origin);

  const tokens = await tokensFor(AMINA);
  const ok = await tokenCall({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, { origin });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), origin);

  const foreign = await tokenCall({ grant_type: "refresh_token", refresh_token: tokens.refresh_token },
    { origin: "https://evil.example" });
  assert.equal(foreign.status, 400);
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
});
