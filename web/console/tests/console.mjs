// The console in headless Chromium against a real videojobs, driven by
// tests/console.rs, which starts the server and restarts it when this script
// asks (lines on stdout: `STOP`, `START`; it answers on stdin: `STOPPED`,
// `STARTED`). Every wait is for a condition (Playwright's auto-waiting
// locators and expect-style polls), never a fixed sleep.
//
// node console.mjs BASE_URL [SCREENSHOT_DIR]
// env: ALICE_TOKEN, ALICE_LINK (what `videojobs console` printed), BOB_TOKEN,
// ADMIN_TOKEN, FORGED_TOKEN
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [base, shots] = process.argv.slice(2);
const { ALICE_TOKEN, ALICE_LINK, BOB_TOKEN, ADMIN_TOKEN, FORGED_TOKEN } = process.env;
const WAIT = 45_000;
const say = (line) => process.stdout.write(`${line}\n`);
const input = createInterface({ input: process.stdin });
const replies = input[Symbol.asyncIterator]();
async function ask(line, answer) {
  say(line);
  const { value } = await replies.next();
  if (value?.trim() !== answer) throw new Error(`expected ${answer} from the test, got ${value}`);
}
function check(condition, message) { if (!condition) throw new Error(message); }

const profile = mkdtempSync(join(tmpdir(), "vj-console-"));
// One browser profile; each person gets a tab of their own (the console keeps
// its token per tab, in sessionStorage).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  acceptDownloads: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
if (shots) mkdirSync(shots, { recursive: true });
async function shot(page, name) { if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true }); }

/** A tab signed in with `token` through a sign-in link (or `link` itself). */
async function open(token, viewport = { width: 1280, height: 800 }, link = undefined) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const context = page;
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (e) => say(`PAGE ERROR ${e.message}`));
  if (token || link) {
    await page.goto(link ?? `${base}/#token=${token}`);
    await page.getByTestId("connection").getByText("live").waitFor();
  }
  return { context, page };
}

async function waitFor(page, fn, arg) { await page.waitForFunction(fn, arg, { timeout: WAIT }); }

/** Submits URLs on the Submit page; returns the job ids of the queued lines. */
async function submit(page, urls, subject = "Physics") {
  await page.getByRole("link", { name: "Submit", exact: true }).click();
  await page.getByLabel("YouTube URLs, one a line").fill(urls.join("\n"));
  await page.getByLabel("Subject").fill(subject);
  await page.getByRole("button", { name: "Submit", exact: true }).click();
  const lines = page.getByRole("list", { name: "Submitted lines" }).locator("li");
  await lines.nth(urls.length - 1).waitFor();
  const ids = [];
  for (let i = 0; i < urls.length; i++) {
    const href = await lines.nth(i).locator("a").getAttribute("href").catch(() => null);
    ids.push(href ? href.split("/").pop() : null);
  }
  return ids;
}

async function jobState(page, id, state) {
  await page.locator(`li.job[data-job-id="${id}"][data-state="${state}"]`).waitFor();
}

async function openJob(page, id) {
  await page.goto(`${base}/#/jobs/${id}`);
  await page.getByRole("heading", { level: 1 }).waitFor();
}

const seenContiguous = () => {
  const seen = window.__videojobs.seen;
  return seen.every((s, i) => i === 0 || s === seen[i - 1] + 1);
};

try {
  // --- Sign in by pasting a token; a refused token goes back to sign-in.
  {
    const { context, page } = await open(null, { width: 1280, height: 800 });
    await page.goto(base);
    await page.getByLabel("Your token").fill(FORGED_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText(/signed out: the server refused your token/).waitFor();
    say("FORGED TOKEN BACK TO SIGN-IN");
    await page.getByLabel("Your token").fill("");
    await shot(page, "sign-in");
    await page.getByLabel("Your token").fill(ALICE_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("connection").getByText("live").waitFor();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    say("SIGNED IN");

    // --- Restart the server mid-job: the page says reconnecting…, resumes, misses nothing.
    const [slow] = await submit(page, ["https://youtu.be/slow0000001"]);
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await jobState(page, slow, "processing");
    await ask("STOP", "STOPPED");
    await page.getByTestId("connection").getByText("reconnecting…").waitFor();
    await page.getByRole("alert").getByText(/Reconnecting…/).waitFor();
    await shot(page, "reconnecting");
    await ask("START", "STARTED");
    await jobState(page, slow, "completed");
    await page.getByTestId("connection").getByText("live").waitFor();
    check(await page.evaluate(seenContiguous), "the page saw every sequence once, in order");
    const seen = await page.evaluate(() => window.__videojobs.seen);
    say(`RESTART JOB ${slow}`);
    say(`SEEN ${seen.join(",")}`);
    await context.close();
  }

  // --- Alice through the link `videojobs console` printed: submit, watch to COMPLETED, read the notes.
  const { page } = await open(null, undefined, ALICE_LINK);
  check(!page.url().includes("token="), "the token leaves the address bar");
  const [done] = await submit(page, ["https://youtu.be/dQw4w9WgXcQ"]);
  await openJob(page, done);
  await page.getByTestId("job-state").getByText("completed").waitFor();
  await page.locator('section.note[data-kind="notes"] .markdown h2').first().waitFor();
  await page.locator('section.note[data-kind="assessment"]').waitFor();
  await page.getByTestId("timeline").locator('li[data-type="completed"]').waitFor();
  check(await page.getByTestId("timeline").locator('li[data-type="queued"]').count() >= 1, "timeline starts queued");
  // The program's output, from WatchJobLogs: its first line and its last.
  await waitFor(page, () => document.querySelector('[data-testid="job-log"]')?.textContent.includes("Notes saved"));
  await page.getByText("the attempt has ended").waitFor();
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download .md" }).first().click();
  check((await download).suggestedFilename().endsWith(".md"), "notes download as .md");
  await shot(page, "job-completed");
  say(`COMPLETED ${done}`);

  // --- A bad URL shows its error beside its line; the good one is queued.
  const [good, bad] = await submit(page, ["https://youtu.be/9bZkp7q19f0", "https://example.com/not-youtube"]);
  check(good && !bad, "one line queued, one refused");
  const refused = page.locator('ol.lines li.refused[data-url="https://example.com/not-youtube"] .line-error');
  await refused.waitFor();
  check(/url/i.test(await refused.textContent()), "the refusal names the URL");
  await shot(page, "submit-errors");
  say("BAD URL BESIDE ITS LINE");

  // --- Cancel a hanging job, with a confirmation.
  const [hang] = await submit(page, ["https://youtu.be/hang0000001"]);
  await openJob(page, hang);
  await page.getByTestId("job-state").getByText("processing").waitFor();
  await page.getByRole("button", { name: "Cancel job" }).click();
  await page.getByRole("button", { name: "Yes, cancel it" }).click();
  await page.getByTestId("job-state").getByText("cancelled").waitFor();
  say(`CANCELLED ${hang}`);

  // --- Retry a failed one: it runs again (and fails again, permanently).
  const [fail] = await submit(page, ["https://youtu.be/fail0000001"]);
  await openJob(page, fail);
  await page.getByTestId("job-state").getByText("failed").waitFor();
  await page.getByTestId("job-error").waitFor();
  await page.getByRole("button", { name: "Retry" }).click();
  await page.getByRole("button", { name: "Yes, retry" }).click();
  await waitFor(page, () => document.querySelectorAll('[data-testid="timeline"] li[data-type="failed"]').length >= 2);
  await page.getByTestId("job-state").getByText("failed").waitFor();
  await shot(page, "job-failed");
  say(`RETRIED ${fail}`);

  // --- The jobs list, filtered, and at 360 px.
  await page.goto(`${base}/#/jobs`);
  await jobState(page, done, "completed");
  await shot(page, "jobs");
  await page.getByLabel("State").selectOption({ label: "failed" });
  await page.locator(`li.job[data-job-id="${fail}"]`).waitFor();
  await waitFor(page, (id) => document.querySelectorAll("li.job").length === 1, fail);
  await page.getByLabel("State").selectOption({ label: "all" });
  await page.getByLabel("Search").fill("hang0000001");
  await waitFor(page, () => document.querySelectorAll("li.job").length === 1);
  say("FILTERS");
  const narrow = await open(ALICE_TOKEN, { width: 360, height: 740 });
  await jobState(narrow.page, done, "completed");
  await shot(narrow.page, "jobs-360");
  await openJob(narrow.page, done);
  await narrow.page.locator("section.note").first().waitFor();
  await shot(narrow.page, "job-360");
  await narrow.context.close();

  // --- A batch, with its counts.
  await submit(page, ["https://youtu.be/aaaaaaaaaa1", "https://youtu.be/aaaaaaaaaa2", "https://youtu.be/aaaaaaaaaa3"], "Batch");
  await page.getByRole("link", { name: "Batches" }).click();
  await page.locator("li.batch").getByText(/3 jobs: 0 waiting, 0 running, 3 completed/).waitFor();
  await shot(page, "batches");
  say("BATCH");

  // --- Bob sees none of Alice's jobs; his own job only.
  const bob = await open(BOB_TOKEN);
  const [bobs] = await submit(bob.page, ["https://youtu.be/bobbbbbbbb1"], "Biology");
  await bob.page.getByRole("link", { name: "Jobs", exact: true }).click();
  await jobState(bob.page, bobs, "completed");
  check((await bob.page.locator("li.job").count()) === 1, "bob sees his one job only");
  check((await bob.page.locator(`li.job[data-job-id="${done}"]`).count()) === 0, "bob does not see alice's job");
  await bob.page.goto(`${base}/#/jobs/${done}`);
  await bob.page.getByText("This job does not exist, or it is not yours.").waitFor();
  say(`BOB SEES ONLY ${bobs}`);
  await bob.context.close();

  // --- The admin sees both users' jobs, the queue, the charts, the failure groups; bulk retry.
  const admin = await open(ADMIN_TOKEN);
  await jobState(admin.page, done, "completed");
  await jobState(admin.page, bobs, "completed");
  say("ADMIN SEES BOTH");
  await admin.page.getByRole("link", { name: "Operations" }).click();
  await admin.page.getByTestId("stats").getByText("Queue depth").waitFor();
  await admin.page.locator("figure.chart canvas").first().waitFor();
  const group = admin.page.locator('li.group[data-kind="permanent"]');
  await group.waitFor();
  await shot(admin.page, "operations");
  await group.getByRole("button", { name: "Retry all" }).click();
  await group.getByRole("button", { name: "Yes, retry them" }).click();
  await admin.page.getByRole("status").getByText(/Retried 1 job/).waitFor();
  say("ADMIN RETRIED A GROUP");
  await admin.page.getByRole("button", { name: "Sign out" }).click();
  await admin.page.getByLabel("Your token").waitFor();
  say("SIGNED OUT");
  say("DONE");
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  input.close(); // stdin would keep node running
}
