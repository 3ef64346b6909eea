// The local sign-in: lists the demo users from /dev/users, asks /dev/login for a token and keeps
// it in sessionStorage for the dashboards. In AWS the Cognito hosted UI takes this page's place.

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const res = await fetch(path, options);
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function showSignedIn(user, token, summary) {
  $("whoami").textContent = `${user.name} (${user.role})`;
  const counts = Object.entries(summary.counts).filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status.replaceAll("_", " ")}`).join(", ");
  $("summary").textContent = `Bookings: ${counts || "none yet"}. Waiting on you: ${summary.action_required}.`;
  $("curl").textContent = `curl -H "Authorization: Bearer ${token}" ${location.origin}/api/sessions`;
  $("signed-in").hidden = false;
}

async function signIn(user) {
  const { token } = await api("/dev/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: user.id }),
  });
  sessionStorage.setItem("kikao.token", token);
  sessionStorage.setItem("kikao.user", JSON.stringify(user));
  const summary = await api("/api/sessions?limit=1", { headers: { authorization: `Bearer ${token}` } });
  showSignedIn(user, token, summary);
}

async function main() {
  const list = $("users");
  try {
    const users = await api("/dev/users");
    list.replaceChildren(...users.map((u) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `Sign in as ${u.name}`;
      b.dataset.role = u.role;
      b.addEventListener("click", () => signIn(u).catch((e) => { $("summary").textContent = e.message; }));
      const role = document.createElement("span");
      role.className = `role role-${u.role}`;
      role.textContent = u.role;
      li.append(b, " ", role);
      return li;
    }));
  } catch (e) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: `Could not load users: ${e.message}` }));
  }
  $("signout").addEventListener("click", () => {
    sessionStorage.clear();
    $("signed-in").hidden = true;
  });
}

main();
