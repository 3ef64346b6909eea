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
  const browser = await launch();
  const stop = async () => {
    await browser.close();
    server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, browser, dataDir, stop };
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
