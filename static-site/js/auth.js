// Who is signed in. Locally the dev server issues tokens (/dev/login); in AWS the Cognito hosted
// UI signs people in with the authorization code flow and PKCE, and we keep its ID token (the
// one carrying name, email and phone_number, which the API reads).

import { config } from "./config.js";

const TOKEN = "kikao.token";
const USER = "kikao.user";
const VERIFIER = "kikao.pkce";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function signedInUser() {
  const raw = sessionStorage.getItem(USER);
  return raw ? JSON.parse(raw) : null;
}

export function remember(tok, user) {
  sessionStorage.setItem(TOKEN, tok);
  sessionStorage.setItem(USER, JSON.stringify(user));
}

export async function signOut() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
  const cfg = await config();
  if (cfg.auth === "cognito" && cfg.cognito) {
    const { domain, client_id, redirect_uri } = cfg.cognito;
    location.assign(`https://${domain}/logout?client_id=${encodeURIComponent(client_id)}&logout_uri=${encodeURIComponent(redirect_uri)}`);
  } else {
    location.assign("/");
  }
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Sends the browser to the Cognito hosted UI. */
export async function cognitoSignIn() {
  const { cognito } = await config();
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER, verifier);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: cognito.client_id,
    redirect_uri: cognito.redirect_uri,
    scope: "openid email phone profile",
    code_challenge_method: "S256",
    code_challenge: challenge,
  });
  location.assign(`https://${cognito.domain}/oauth2/authorize?${q}`);
}

/** On return from the hosted UI: trades the code for tokens. Returns true when signed in. */
export async function completeCognitoSignIn() {
  const code = new URLSearchParams(location.search).get("code");
  const verifier = sessionStorage.getItem(VERIFIER);
  if (!code || !verifier) return false;
  const { cognito } = await config();
  const res = await fetch(`https://${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.client_id,
      code,
      redirect_uri: cognito.redirect_uri,
      code_verifier: verifier,
    }),
  });
  sessionStorage.removeItem(VERIFIER);
  if (!res.ok) return false;
  const { id_token } = await res.json();
  const claims = JSON.parse(atob(id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  // the role is the server's to say (GET /api/me), not the page's to read from the groups
  remember(id_token, { id: claims.sub, name: claims.name ?? claims.email });
  history.replaceState(null, "", location.pathname);
  return true;
}
