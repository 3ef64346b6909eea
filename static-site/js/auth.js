// Who is signed in. Locally the dev server issues tokens (/dev/login, /dev/refresh); in AWS the
// Cognito hosted UI signs people in with the authorization code flow, PKCE and a `state` the
// page checks on return, and we keep its ID token (the one carrying name, email, phone_number
// and the groups, which the API reads), its access token (for Cognito's own calls: two-step
// sign-in, confirming a phone) and its refresh token (for a new ID token before the old one
// expires, and once the groups or the two-step state change). When a sign-in fails or ends, the
// sign-in page says why (`signInNotice`).

import { config } from "./config.js";

const TOKEN = "kikao.token";
const ACCESS = "kikao.access";
const REFRESH = "kikao.refresh";
const USER = "kikao.user";
const VERIFIER = "kikao.pkce";
const STATE = "kikao.state";
const NOTICE = "kikao.notice";

/** Said on the sign-in page when the API stopped taking the page's sign-in. */
export const SESSION_ENDED = "Your sign-in has expired or was ended. Please sign in again.";
/** How long before its expiry a token is renewed, so no request carries one that lapses. */
const RENEW_BEFORE_SECONDS = 120;

/** Where the hosted sign-in lives: Cognito's domain (https), or a full origin as the tests'
 * OpenID provider and the dev server's `--oidc-issuer` mode give it. */
function hostedUi(domain) {
  return /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, "") : `https://${domain}`;
}

/** A sentence for the sign-in page to show once (why the person is there again). */
export function leaveSignInNotice(sentence) {
  if (sentence) sessionStorage.setItem(NOTICE, sentence);
}

/** The sentence left for the sign-in page, taken (shown once). */
export function signInNotice() {
  const s = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return s;
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

/** Cognito's access token (Cognito mode only). */
export function accessToken() {
  return sessionStorage.getItem(ACCESS);
}

export function signedInUser() {
  const raw = sessionStorage.getItem(USER);
  return raw ? JSON.parse(raw) : null;
}

export function remember(tok, user) {
  sessionStorage.setItem(TOKEN, tok);
  sessionStorage.setItem(USER, JSON.stringify(user));
}

/** The claims of the ID token we hold (read for navigation and labels only: the server checks
 * the token itself). */
export function claims(tok = token()) {
  try {
    const b64 = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** Whether the token says its holder signs in with an authenticator app (the `kikao_mfa` claim
 * Cognito's pre-token-generation trigger, or the dev sign-in, adds). Only for what a page shows
 * when GET /api/me cannot say it; the server reads the claim itself before any change. */
export function tokenSaysMfa() {
  return claims().kikao_mfa === "totp";
}

function rememberCognito({ id_token, access_token, refresh_token }) {
  const c = claims(id_token);
  remember(id_token, { id: c.sub, name: c.name ?? c.email });
  if (access_token) sessionStorage.setItem(ACCESS, access_token);
  // a refresh_token grant answers without one: the one we have stays good
  if (refresh_token) sessionStorage.setItem(REFRESH, refresh_token);
}

function forget() {
  for (const k of [TOKEN, ACCESS, REFRESH, USER, VERIFIER, STATE]) sessionStorage.removeItem(k);
}

/** Forgets every token and ends the hosted UI's session too (Cognito's /logout), so the next
 * sign-in asks for the password. `reason`, if any, is what the sign-in page then says. */
export async function signOut(reason) {
  forget();
  leaveSignInNotice(reason);
  const cfg = await config();
  if (cfg.auth === "cognito" && cfg.cognito) {
    const { domain, client_id, redirect_uri } = cfg.cognito;
    location.assign(`${hostedUi(domain)}/logout?client_id=${encodeURIComponent(client_id)}&logout_uri=${encodeURIComponent(redirect_uri)}`);
  } else {
    location.assign("/");
  }
}

let refreshing = null;

/** A new token carrying the directory's current groups and two-step state. True when one was
 * had; requests made at the same moment share one refresh. */
export function refresh() {
  refreshing ??= refreshOnce().finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshOnce() {
  try {
    const cfg = await config();
    if (cfg.auth === "cognito") {
      const refresh_token = sessionStorage.getItem(REFRESH);
      if (!refresh_token || !cfg.cognito) return false;
      const res = await fetch(`${hostedUi(cfg.cognito.domain)}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: cfg.cognito.client_id, refresh_token }),
      });
      if (!res.ok) return false;
      rememberCognito(await res.json());
      return true;
    }
    const tok = token();
    if (!tok) return false;
    const res = await fetch("/dev/refresh", { method: "POST", headers: { authorization: `Bearer ${tok}` } });
    if (!res.ok) return false;
    const body = await res.json();
    remember(body.token, body.user);
    return true;
  } catch {
    return false;
  }
}

/** The token to send: renewed first when it expires within two minutes, so a page left open
 * keeps working without a reload (and without losing what it shows). If it cannot be renewed,
 * the one held is sent and the server's 401 ends the sign-in. */
export async function currentToken() {
  const exp = Number(claims().exp);
  if (exp && exp - Date.now() / 1000 < RENEW_BEFORE_SECONDS) await refresh();
  return token();
}

/** The page a signed-in person belongs on. Navigation only: the server enforces roles. */
export async function homePage() {
  const cfg = await config();
  if (cfg.auth === "cognito") {
    const groups = claims()["cognito:groups"] ?? [];
    const list = Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/);
    const adminOnly = list.includes("practice_admins") && !list.some((g) => g === "psychologists" || g === "clients");
    return adminOnly ? "/admin.html" : "/dashboard.html";
  }
  return signedInUser()?.role === "practice_admin" ? "/admin.html" : "/dashboard.html";
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Sends the browser to the Cognito hosted UI. */
export async function cognitoSignIn() {
  const { cognito } = await config();
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  // the answer must carry this back: a code that arrives without it was not asked for here
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: cognito.client_id,
    redirect_uri: cognito.redirect_uri,
    // publish-site writes the scopes the app client allows; the access token can set up
    // two-step sign-in only when they include aws.cognito.signin.user.admin
    scope: cognito.scope ?? "openid email phone profile",
    code_challenge_method: "S256",
    code_challenge: challenge,
    state,
  });
  location.assign(`${hostedUi(cognito.domain)}/oauth2/authorize?${q}`);
}

/**
 * On return from the hosted UI: checks the `state`, then trades the code for tokens. Resolves
 * to `{ signedIn: true }`, to `{ error: sentence }` when the answer cannot be used (the page
 * says so and offers to sign in again), or to `{}` when this is no return from a sign-in. The
 * address is cleaned either way, so a reload never tries the same code twice.
 */
export async function completeCognitoSignIn() {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return {};
  const verifier = sessionStorage.getItem(VERIFIER);
  const expected = sessionStorage.getItem(STATE);
  sessionStorage.removeItem(VERIFIER);
  sessionStorage.removeItem(STATE);
  history.replaceState(null, "", location.pathname);
  if (q.has("error")) {
    return { error: "The sign-in was cancelled or refused. Please sign in again." };
  }
  if (!verifier || !expected || q.get("state") !== expected) {
    return { error: "That sign-in did not start on this page (or was started in another tab), so Kikao did not use it. Please sign in again." };
  }
  const { cognito } = await config();
  let res;
  try {
    res = await fetch(`${hostedUi(cognito.domain)}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: cognito.client_id,
        code: q.get("code"),
        redirect_uri: cognito.redirect_uri,
        code_verifier: verifier,
      }),
    });
  } catch {
    return { error: "The sign-in service could not be reached. Check your connection and sign in again." };
  }
  if (!res.ok) {
    return { error: "That sign-in has already been used or has expired. Please sign in again." };
  }
  // the role is the server's to say (GET /api/me); the groups only choose the first page
  rememberCognito(await res.json());
  return { signedIn: true };
}
