// The console's benchmark (not a test; scripts/console-bench.sh runs it):
// the bundle's gzipped size, the time from navigation to 1,000 job rows in
// the DOM in headless Chromium, and the frames dropped while those 1,000
// jobs update live. It starts its own videojobs (the given binary, a scratch
// data directory): first with no workers, 1,000 jobs queued; then again
// with 32 workers, so every job runs and streams its events to the open page.
//
// node console-bench.mjs VIDEOJOBS_BINARY [JOBS]
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const [binary, count = "1000"] = process.argv.slice(2);
const JOBS = Number(count);
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const data = mkdtempSync(join(tmpdir(), "vj-console-bench-"));
const standin = join(dirname(binary), "study-buddy-standin");

function gz(dir) {
  let raw = 0, packed = 0;
  for (const name of readdirSync(dir, { recursive: true })) {
    const path = join(dir, name);
    try { const bytes = readFileSync(path); raw += bytes.length; packed += gzipSync(bytes, { level: 9 }).length; } catch { /* a directory */ }
  }
  return { raw, packed };
}

const port = await new Promise((resolve) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const addr = `127.0.0.1:${port}`;
function serve(concurrency) {
  const child = spawn(binary, ["serve", "--listen", addr, "--data-dir", data, "--concurrency", String(concurrency),
    "--cli", `${standin} --stage-delay-ms 300`, "--queue-capacity", "100000"], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let log = "";
    child.stderr.on("data", (d) => { log += d; if (log.includes("videojobs serving")) resolve(child); });
    child.on("exit", (code) => reject(new Error(`videojobs exited ${code}:\n${log}`)));
  });
}
function stop(child) { return new Promise((resolve) => { child.removeAllListeners("exit"); child.on("exit", resolve); child.kill("SIGTERM"); }); }
// Asynchronous, so the server's log pipe keeps draining meanwhile.
const run = async (...args) => (await promisify(execFile)(binary, args, { maxBuffer: 64 << 20 })).stdout.trim();

const rows = [];
const bundle = gz(dist);
rows.push(["bundle (dist/, gzip -9)", `${(bundle.packed / 1024).toFixed(1)} KiB (${(bundle.raw / 1024).toFixed(1)} KiB raw)`, "≤ 200 KiB"]);

let server = await serve(0);
const urls = Array.from({ length: JOBS }, (_, i) => `https://youtu.be/bench${String(i).padStart(6, "0")}`);
const token = await run("token", "--user", "bench", "--data-dir", data);
for (let i = 0; i < urls.length; i += 200) await run("submit", ...urls.slice(i, i + 200), "--addr", `http://${addr}`, "--token", token, "--json");

const profile = mkdtempSync(join(tmpdir(), "vj-console-bench-profile-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium", headless: true, viewport: { width: 1280, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  // The moment the last of the 1,000 rows enters the DOM, without polling.
  await page.addInitScript((jobs) => {
    new MutationObserver((_, observer) => {
      if (document.querySelectorAll("li.job").length >= jobs) { window.__rendered = performance.now(); observer.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
  }, JOBS);
  const firsts = [];
  for (let i = 0; i < 3; i++) {
    await page.goto("about:blank"); // a full load each time, not a same-document hash change
    await page.goto(`http://${addr}/#token=${token}`);
    await page.waitForFunction(() => window.__rendered !== undefined, null, { timeout: 60_000 }).catch(async (e) => {
      console.error(await page.evaluate(() => `rows=${document.querySelectorAll("li.job").length} body=${document.body.innerText.slice(0, 300)}`));
      throw e;
    });
    firsts.push(await page.evaluate(() => {
      // The ListJobs answer's arrival splits the time into the server's part and the page's.
      const list = performance.getEntriesByType("resource").find((e) => e.name.includes("/ListJobs"));
      return [window.__rendered, list ? window.__rendered - list.responseEnd : NaN];
    }));
    await page.evaluate(() => sessionStorage.clear());
  }
  firsts.sort((a, b) => a[0] - b[0]);
  rows.push([`navigation → ${JOBS} rows in the DOM (median of 3)`, `${firsts[1][0].toFixed(0)} ms`, "≤ 300 ms"]);
  rows.push([`  of which after ListJobs answered (render)`, `${firsts[1][1].toFixed(0)} ms`, ""]);

  // Now run them all, live, and count the frames that took longer than two vsyncs.
  await page.goto(`http://${addr}/#token=${token}`);
  await page.waitForFunction((jobs) => document.querySelectorAll("li.job").length >= jobs, JOBS);
  await stop(server);
  await page.getByTestId("connection").getByText("reconnecting…").waitFor();
  server = await serve(32);
  await page.getByTestId("connection").getByText("live").waitFor();
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (t) => { window.__frames.push(t); if (!window.__stopFrames) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  await page.waitForFunction((jobs) => document.querySelectorAll('li.job[data-state="completed"]').length >= jobs, JOBS, { timeout: 600_000 });
  const seconds = (Date.now() - started) / 1000;
  const { frames, events, contiguous } = await page.evaluate(() => {
    window.__stopFrames = true;
    const seen = window.__videojobs.seen;
    return { frames: window.__frames, events: seen.length, contiguous: seen.every((s, i) => i === 0 || s === seen[i - 1] + 1) };
  });
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  const budget = 1000 / 60;
  const dropped = gaps.reduce((n, g) => n + Math.max(0, Math.round(g / budget) - 1), 0);
  const long = gaps.filter((g) => g > 50).length;
  const worst = Math.max(...gaps);
  rows.push([`${JOBS} jobs running to completed, live`, `${seconds.toFixed(1)} s, ${events} events${contiguous ? ", no gap" : ", WITH GAPS"}`, ""]);
  rows.push(["frames drawn / dropped (beyond 60 Hz)", `${gaps.length} / ${dropped} (${((100 * dropped) / (gaps.length + dropped)).toFixed(1)} %)`, ""]);
  rows.push(["frames over 50 ms / worst frame", `${long} / ${worst.toFixed(0)} ms`, ""]);
} finally {
  await browser.close();
  await stop(server);
  rmSync(profile, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
}
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`| ${"measure".padEnd(width)} | result | target |\n|${"-".repeat(width + 2)}|---|---|`);
for (const [m, r, t] of rows) console.log(`| ${m.padEnd(width)} | ${r} | ${t} |`);
