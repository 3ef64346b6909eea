// What the browser tests share: a dev server of their own (a free 127.0.0.1 port, a temporary
// data folder, stopped by PID), Debian's Chromium with the flags this machine needs, the
// axe-core check, and screenshots into test-results/.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export const root = path.resolve(import.meta.dirname, "../..");
const bin = process.env.KIKAO_LOCAL_BIN ?? path.join(root, "target/debug/local");
export const shots = path.join(root, "test-results");
export const SECOND = 1000;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A dev server (its data in a fresh folder named after `name`, started with `args` besides)
 * and a browser; `stop()` ends both and removes the folder. */
export async function start(name, args = []) {
  mkdirSync(shots, { recursive: true });
  const dataDir = mkdtempSync(path.join(tmpdir(), `kikao-e2e-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ["--port", String(port), "--data-dir", dataDir, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/dev/users`)).ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  // the server's stderr is the test log's pipe: one outliving this file would hold `tee` open
  process.on("exit", () => server.kill("SIGKILL"));
  const browser = await launch();
  const stop = async () => {
    try {
      // Chromium has been seen not to answer a close on a loaded CI host; the file must end anyway
      const closed = await Promise.race([browser.close().then(() => true, () => true), sleep(15 * SECOND).then(() => false)]);
      if (!closed) console.error(`${name}: Chromium did not close within 15 s; left to playwright's exit handler`);
    } finally {
      server.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  return { base, browser, dataDir, stop };
}

// unref'd: a wait that lost its race must not hold the process open
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** Ends this test file's process if something (a browser pipe, a socket) still holds it 20 s
 * after its last hook (call it there, never mid-file): the results are written by then, and a
 * file that never exits stalls the whole run until CI's limit. The timer is unref'd, so a file
 * that ends on its own is not held. */
export function exitSoon(name) {
  setTimeout(() => {
    console.error(`${name}: still open 20 s after its last hook; exiting`);
    process.exit(process.exitCode ?? 0);
  }, 20 * SECOND).unref();
}

/** Chromium with the flags this machine needs. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/** One h1, and no serious or critical axe-core violation, on the page as it is now. */
export async function accessible(page, what) {
  // axe rates a page without a level-one heading only "moderate"; issue 17 asks for one, always
  assert.equal(await page.locator("h1").count(), 1, `${what}: one h1`);
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => ["serious", "critical"].includes(v.impact));
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), [], what);
}

export const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
