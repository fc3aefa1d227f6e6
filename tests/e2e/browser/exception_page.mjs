// Loads a page in headless Chromium and reports what a user would see, as one JSON line on
// stdout: the exception page's reason and backtrace (their text, and whether they are laid
// out visibly), whether any script ran, and whether a dialog opened.
//
//   node exception_page.mjs URL
//
// Chromium is driven through its DevTools protocol over a pipe (--remote-debugging-pipe: JSON
// messages separated by NUL bytes on file descriptors 3 and 4), so nothing but Node and the
// browser is needed. The browser: $CHROMIUM, else Debian's chromium-headless-shell, else
// chromium. Its profile is a fresh temporary directory, removed at the end.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
if (!url) {
  console.error("usage: node exception_page.mjs URL");
  process.exit(2);
}
const candidates = [process.env.CHROMIUM, "/usr/bin/chromium-headless-shell", "/usr/bin/chromium"];
const exe = candidates.find((p) => p && existsSync(p));
if (!exe) {
  console.error("exception_page: no Chromium (install chromium-headless-shell: scripts/setup.sh)");
  process.exit(3);
}
const profile = mkdtempSync(join(tmpdir(), "dyn-chromium-"));
const browser = spawn(exe, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage", `--user-data-dir=${profile}`, "--remote-debugging-pipe",
  "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
browser.stderr.on("data", (d) => { stderr += d; });

const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
let nextId = 1;
const pending = new Map();
const listeners = [];
let inbuf = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  inbuf = Buffer.concat([inbuf, chunk]);
  let nul;
  while ((nul = inbuf.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbuf.subarray(0, nul).toString("utf8"));
    inbuf = inbuf.subarray(nul + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out waiting for the browser")), ms);
    listeners.push((m) => { if (pred(m)) { clearTimeout(t); resolve(m); } });
  });
}

const result = { dialogs: 0, console: [] };
listeners.push((m) => {
  if (m.method === "Page.javascriptDialogOpening") result.dialogs++;
  if (m.method === "Runtime.consoleAPICalled") result.console.push(m.params.type);
});

const timeout = setTimeout(() => {
  console.error("exception_page: timed out\n" + stderr);
  browser.kill("SIGKILL");
  process.exit(4);
}, 60000);

try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, sessionId);
  await send("Runtime.enable", {}, sessionId);
  const loaded = waitFor((m) => m.method === "Page.loadEventFired" && m.sessionId === sessionId, 30000);
  const nav = await send("Page.navigate", { url }, sessionId);
  if (nav.errorText) throw new Error("navigation failed: " + nav.errorText);
  await loaded;
  const expression = `(() => {
    const shown = (el) => !!el && el.getClientRects().length > 0 &&
      getComputedStyle(el).visibility !== "hidden" && el.getBoundingClientRect().height > 0;
    const reason = document.getElementById("reason");
    const bt = document.getElementById("backtrace");
    return {
      title: document.title,
      reason: reason ? reason.innerText : null,
      reasonVisible: shown(reason),
      backtrace: bt ? [...bt.querySelectorAll("li .fn")].map((e) => e.innerText) : [],
      backtraceVisible: shown(bt),
      scriptElements: document.scripts.length,
      pwned: window.__pwned === 1,
      bodyText: document.body.innerText.length,
    };
  })()`;
  const r = await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId);
  Object.assign(result, r.result.value);
  console.log(JSON.stringify(result));
  await send("Browser.close").catch(() => {});
} catch (e) {
  console.error("exception_page: " + e.message + "\n" + stderr);
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
  // Browser.close (above) ends its processes; wait for that before removing the profile they
  // write to, and kill what is left after a while.
  const exited = new Promise((resolve) => browser.once("exit", resolve));
  const killer = setTimeout(() => browser.kill("SIGKILL"), 5000);
  if (browser.exitCode === null && browser.signalCode === null) await exited;
  clearTimeout(killer);
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  } catch (e) {
    console.error("exception_page: could not remove " + profile + ": " + e.message);
  }
}
