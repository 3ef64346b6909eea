// The sign-in page. Locally it lists the demo users from /dev/users (clients, psychologists and
// practice admins) and asks /dev/login for a token, with the code from the person's
// authenticator app when they have two-step sign-in; in AWS it sends people to the Cognito
// hosted UI, which asks for that code itself. Either way the person's page follows: the
// practice admin page for an admin, the dashboard for everyone else.

import { config } from "./config.js";
import { remember, token, signedInUser, cognitoSignIn, completeCognitoSignIn, homePage, signInNotice } from "./auth.js";

const $ = (id) => document.getElementById(id);

const ROLE_NAMES = { client: "client", psychologist: "psychologist", practice_admin: "practice admin" };

/** Who the code form is for, while it is shown. */
let asking = null;

class SignInError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function devSignIn(user, code) {
  const body = { user_id: user.id };
  if (code !== undefined) body.code = code;
  const res = await fetch("/dev/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new SignInError(res.status, data?.error?.code, data?.error?.message ?? `The server answered ${res.status}.`);
  remember(data.token, data.user);
  location.assign(await homePage());
}

function askForCode(user) {
  asking = user;
  const form = $("code-form");
  $("code-title").textContent = `Two-step sign-in for ${user.name}`;
  $("code-error").textContent = "";
  $("status").textContent = "";
  form.code.value = "";
  form.hidden = false;
  form.code.focus();
}

function closeCode() {
  asking = null;
  $("code-form").hidden = true;
}

async function choose(user) {
  $("status").textContent = "";
  closeCode();
  try {
    await devSignIn(user);
  } catch (e) {
    if (e.code === "mfa_code_required") askForCode(user);
    else $("status").textContent = e.message;
  }
}

function wireCodeForm() {
  const form = $("code-form");
  const submit = form.querySelector("button[type=submit]");
  $("code-back").addEventListener("click", () => closeCode());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const code = form.code.value.replace(/\s+/g, "");
    if (!/^\d{6}$/.test(code)) {
      $("code-error").textContent = "Type the 6 digits your authenticator app shows.";
      form.code.focus();
      return;
    }
    const user = asking;
    if (!user) return;
    submit.disabled = true;
    $("code-error").textContent = "";
    try {
      await devSignIn(user, code);
    } catch (e) {
      if (e.code === "account_disabled") {
        closeCode();
        $("status").textContent = e.message;
      } else {
        $("code-error").textContent = e.message;
        form.code.select();
        form.code.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });
}

async function main() {
  const cfg = await config();
  const list = $("users");
  const notice = signInNotice();
  if (cfg.auth === "cognito") {
    const back = await completeCognitoSignIn();
    if (back.signedIn) return location.assign(await homePage());
    if (!back.error && token() && signedInUser()) return location.assign(await homePage());
    $("who").textContent = "Sign in";
    $("status").textContent = back.error ?? notice ?? "";
    const b = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: "Sign in or create an account" });
    b.addEventListener("click", () => cognitoSignIn());
    list.replaceChildren(Object.assign(document.createElement("li"), {}));
    list.firstChild.append(b);
    $("dev-hint").hidden = true;
    return;
  }
  wireCodeForm();
  if (notice) $("status").textContent = notice;
  try {
    const res = await fetch("/dev/users");
    const users = await res.json();
    list.replaceChildren(...users.map((u) => {
      const li = document.createElement("li");
      li.dataset.userId = u.id;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `Sign in as ${u.name}`;
      b.addEventListener("click", () => choose(u));
      const role = document.createElement("span");
      role.className = `role role-${u.role}`;
      role.textContent = ROLE_NAMES[u.role] ?? u.role;
      li.append(b, " ", role);
      return li;
    }));
  } catch (e) {
    $("status").textContent = `Could not load the demo users: ${e.message}`;
  }
}

main();
