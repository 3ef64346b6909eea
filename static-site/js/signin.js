// The sign-in page. Locally it lists the demo users from /dev/users and asks /dev/login for a
// token; in AWS it sends people to the Cognito hosted UI. Either way the dashboard follows.

import { config } from "./config.js";
import { remember, token, signedInUser, cognitoSignIn, completeCognitoSignIn } from "./auth.js";

const $ = (id) => document.getElementById(id);

async function devSignIn(user) {
  const res = await fetch("/dev/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: user.id }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  remember(body.token, body.user);
  location.assign("/dashboard.html");
}

async function main() {
  const cfg = await config();
  const list = $("users");
  if (cfg.auth === "cognito") {
    if (await completeCognitoSignIn()) return location.assign("/dashboard.html");
    if (token() && signedInUser()) return location.assign("/dashboard.html");
    $("who").textContent = "Sign in";
    const b = Object.assign(document.createElement("button"), { type: "button", className: "primary", textContent: "Sign in or create an account" });
    b.addEventListener("click", () => cognitoSignIn());
    list.replaceChildren(Object.assign(document.createElement("li"), {}));
    list.firstChild.append(b);
    $("dev-hint").hidden = true;
    return;
  }
  try {
    const res = await fetch("/dev/users");
    const users = await res.json();
    list.replaceChildren(...users.map((u) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `Sign in as ${u.name}`;
      b.addEventListener("click", () => devSignIn(u).catch((e) => { $("status").textContent = e.message; }));
      const role = document.createElement("span");
      role.className = `role role-${u.role}`;
      role.textContent = u.role;
      li.append(b, " ", role);
      return li;
    }));
  } catch (e) {
    $("status").textContent = `Could not load the demo users: ${e.message}`;
  }
}

main();
