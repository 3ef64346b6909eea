// A stand-in for the AWS Cognito hosted UI, so the browser tests can sign in the way the site does
// in AWS (authorization code + PKCE, a public app client, refresh tokens, /logout) without AWS:
// panva's oidc-provider on a free 127.0.0.1 port, configured like a Cognito user pool (its
// routes, its ID token claims, no consent screen, a refresh token on every code exchange) with a
// plain HTML sign-in page of our own.
//
// Choices worth knowing:
// - The app client lives in our adapter, not in the static `clients` list: oidc-provider asks the
//   adapter for it on every request and rebuilds its Client whenever the metadata changes, so
//   redirect URIs added after start (the dev server's port is known only then) take effect at once.
// - oidc-provider fixes its keystore when constructed, so `rotateKey()` builds a new Provider
//   (same issuer, adapter storage and cookie keys, so sessions and tokens live on) that signs with
//   the new key first; the old key stays in the JWKS, as Cognito keeps publishing its older key.
// - Refresh tokens outlive the sign-in session (Cognito's /logout does not revoke them) and are not
//   rotated; the refresh answer carries no refresh_token, as Cognito's does not.

import http from "node:http";
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";

const ADMIN_SCOPE = "aws.cognito.signin.user.admin";
const WRONG_PASSWORD = "Incorrect username or password.";
const STYLE = "*{box-sizing:border-box}body{font-family:system-ui,sans-serif;max-width:24rem;margin:2rem auto;padding:0 1rem}"
  + "input,button{font:inherit;margin:.25rem 0 1rem;width:100%}[role=alert]{color:#a00000}";
const STYLE_HASH = createHash("sha256").update(STYLE).digest("base64");

let ProviderClass;
/** oidc-provider, imported once. It warns on import that it wants Node 22; Debian's Node 20 runs
 * it for these tests, so that one line is dropped to keep the test output clean. */
async function loadProvider() {
  if (!ProviderClass) {
    const warn = console.warn;
    console.warn = (msg, ...rest) => {
      if (!String(msg).includes("Unsupported runtime")) warn(msg, ...rest);
    };
    try {
      ({ default: ProviderClass } = await import("oidc-provider"));
    } finally {
      console.warn = warn;
    }
  }
  return ProviderClass;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "RS256", use: "sig" };
}

const escapeHtml = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(uid, { email = "", failed = false } = {}) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Sign in</h1>
${failed ? `<p role="alert">${WRONG_PASSWORD}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

async function formBody(req) {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) break;
  }
  return new URLSearchParams(text);
}

/** Starts the provider. `redirectUris` and `postLogoutUris` are read by reference (push to them,
 * or call `addClientUris`, after start); so is `accounts`. */
export async function startProvider({
  clientId = "kikao-test-client",
  redirectUris = [],
  postLogoutUris = [],
  accounts = [],
  idTokenTtl = 3600,
  accessTokenTtl = 3600,
  refreshTokenTtl = 30 * 24 * 3600,
} = {}) {
  const Provider = await loadProvider();
  const calls = { logout: [], token: [] };
  const keys = [signingKey()];
  const cookieKeys = [randomBytes(32).toString("base64url")];
  /** Everything oidc-provider stores, as "Model:id" -> { payload, expiresAt } (ms). */
  const store = new Map();
  const account = (sub) => accounts.find((a) => a.sub === sub);

  const clientMetadata = () => ({
    client_id: clientId,
    client_name: "Kikao (tests)",
    application_type: "web",
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: [...redirectUris],
    require_auth_time: true,
    id_token_signed_response_alg: "RS256",
  });

  class Adapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity;
      store.set(this.key(id), { payload, expiresAt });
    }

    async find(id) {
      if (this.model === "Client") return id === clientId ? clientMetadata() : undefined;
      const entry = store.get(this.key(id));
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        store.delete(this.key(id));
        return undefined;
      }
      return entry.payload;
    }

    async findByUid(uid) {
      for (const [key, { payload }] of store) {
        if (key.startsWith(`${this.model}:`) && payload.uid === uid) return this.find(key.slice(this.model.length + 1));
      }
      return undefined;
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id) {
      const entry = store.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      store.delete(this.key(id));
    }

    async revokeByGrantId(grantId) {
      for (const [key, { payload }] of store) if (payload.grantId === grantId) store.delete(key);
    }
  }

  const configuration = () => ({
    adapter: Adapter,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    clients: [],
    routes: {
      authorization: "/oauth2/authorize",
      token: "/oauth2/token",
      userinfo: "/oauth2/userInfo",
      jwks: "/.well-known/jwks.json",
    },
    responseTypes: ["code"],
    pkce: { required: () => true },
    scopes: ["openid", ADMIN_SCOPE],
    claims: {
      openid: ["sub", "token_use", "cognito:groups", "kikao_mfa"],
      email: ["email", "email_verified"],
      phone: ["phone_number", "phone_number_verified"],
      profile: ["name"],
    },
    // Cognito puts the profile, email and phone claims in the ID token itself.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: true },
    },
    async findAccount(_ctx, sub) {
      if (!account(sub)) return undefined;
      return {
        accountId: sub,
        // read at every token, so a refresh shows the account as it is now
        async claims(use) {
          const a = account(sub) ?? {};
          const claims = { sub, name: a.name, email: a.email, email_verified: true };
          if (a.phone_number) {
            claims.phone_number = a.phone_number;
            claims.phone_number_verified = Boolean(a.phone_number_verified);
          }
          if (use === "id_token") {
            claims.token_use = "id";
            if (a.groups?.length) claims["cognito:groups"] = [...a.groups];
            if (a.mfa) claims.kikao_mfa = "totp";
          }
          return claims;
        },
      };
    },
    // Cognito's hosted UI asks for no consent: grant whatever (known) scopes the page asks for.
    async loadExistingGrant(ctx) {
      const { Grant } = ctx.oidc.provider;
      const { accountId } = ctx.oidc.session;
      const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = id ? await Grant.find(id) : undefined;
      if (!grant || grant.accountId !== accountId) grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId });
      grant.addOIDCScope(ctx.oidc.requestParamOIDCScopes);
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx, client) => client.clientId === clientId,
    rotateRefreshToken: false,
    expiresWithSession: async () => false,
    clientBasedCORS: (_ctx, origin) => /^http:\/\/127\.0\.0\.1(:\d+)?$/.test(origin),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      IdToken: idTokenTtl,
      AccessToken: accessTokenTtl,
      RefreshToken: refreshTokenTtl,
      Grant: refreshTokenTtl,
      Session: 24 * 3600,
      Interaction: 3600,
    },
    async renderError(ctx, out) {
      ctx.type = "text/plain";
      ctx.body = `${out.error}: ${out.error_description ?? ""}\n`;
    },
  });

  /** Cognito's hosted UI logout: ends the sign-in session, then back to an allowed logout_uri. */
  async function logout(ctx) {
    const { client_id, logout_uri } = ctx.query;
    calls.logout.push({ client_id, logout_uri });
    if (client_id !== clientId || !postLogoutUris.includes(logout_uri)) {
      ctx.status = 400;
      ctx.type = "text/plain";
      ctx.body = "logout_uri is not one of the client's sign-out URLs\n";
      return;
    }
    const session = await ctx.app.Session.get(ctx);
    await session.destroy();
    ctx.cookies.set(ctx.app.cookieName("session"), null, { signed: true });
    ctx.redirect(logout_uri);
  }

  async function interaction(ctx, uid) {
    const provider = ctx.app;
    ctx.set("Cache-Control", "no-store");
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      ctx.status = 400;
      ctx.type = "text/plain";
      ctx.body = "This sign-in has expired: start again from the site.\n";
      return;
    }
    if (details.uid !== uid || details.prompt.name !== "login") {
      ctx.status = 400;
      ctx.type = "text/plain";
      ctx.body = `unexpected interaction (${details.prompt.name})\n`;
      return;
    }
    let failed = false;
    let email = "";
    if (ctx.method === "POST") {
      const form = await formBody(ctx.req);
      email = form.get("email") ?? "";
      const who = accounts.find((a) => a.email?.toLowerCase() === email.trim().toLowerCase());
      if (who && who.password === form.get("password")) {
        const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: who.sub } },
          { mergeWithLastSubmission: false });
        ctx.redirect(returnTo);
        ctx.status = 303;
        return;
      }
      failed = true;
    }
    // form-action also governs the redirects after the POST, which end at the page's origin
    const origins = [...new Set(redirectUris.map((u) => new URL(u).origin))].join(" ");
    ctx.set("Content-Security-Policy", `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; `
      + `form-action 'self' ${origins}; frame-ancestors 'none'; base-uri 'none'`);
    ctx.type = "text/html";
    ctx.body = signInPage(uid, { email, failed });
  }

  /** Records token calls, and drops the unrotated refresh token from a refresh answer. */
  async function token(ctx, next) {
    await next();
    const grantType = ctx.oidc?.params?.grant_type;
    calls.token.push({ grant_type: grantType, status: ctx.status, error: ctx.body?.error });
    if (grantType === "refresh_token" && ctx.status === 200 && ctx.body) delete ctx.body.refresh_token;
  }

  let provider;
  let handler;
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  function build() {
    const p = new Provider(issuer, configuration());
    p.on("server_error", (_ctx, err) => console.error("oidc test provider:", err));
    p.use(async (ctx, next) => {
      const m = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
      if (m && ["GET", "POST"].includes(ctx.method)) return interaction(ctx, m[1]);
      if (ctx.path === "/logout" && ctx.method === "GET") return logout(ctx);
      if (ctx.path === "/oauth2/token" && ctx.method === "POST") return token(ctx, next);
      return next();
    });
    provider = p;
    handler = p.callback();
  }
  build();

  const mustFind = (sub) => {
    const a = account(sub);
    if (!a) throw new Error(`no account ${sub}`);
    return a;
  };

  return {
    issuer,
    port,
    clientId,
    accounts,
    calls,
    redirectUris,
    postLogoutUris,
    get provider() {
      return provider;
    },
    /** Allows more redirect and logout URIs for the client from now on. */
    addClientUris({ redirect = [], logout: logoutUris = [] } = {}) {
      for (const u of [redirect].flat()) if (!redirectUris.includes(u)) redirectUris.push(u);
      for (const u of [logoutUris].flat()) if (!postLogoutUris.includes(u)) postLogoutUris.push(u);
    },
    setGroups(sub, groups) {
      mustFind(sub).groups = [...groups];
    },
    setClaim(sub, name, value) {
      mustFind(sub)[name] = value;
    },
    /** Every refresh token issued so far is refused from now on (invalid_grant). */
    expireRefreshTokens() {
      for (const key of store.keys()) if (key.startsWith("RefreshToken:")) store.delete(key);
    },
    /** Signs new tokens with a fresh key (returned: its kid); the old key stays published. */
    rotateKey() {
      keys.unshift(signingKey());
      build();
      return keys[0].kid;
    },
    stop() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
