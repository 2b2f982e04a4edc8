// The console in headless Chromium against a real videojobs, driven by
// tests/console.rs, which starts the server and restarts it when this script
// asks (lines on stdout: `STOP`, `START`; it answers on stdin: `STOPPED`,
// `STARTED`), cancels one of Alice's jobs through the API (`CANCEL id`,
// answered `CANCELLED`) and pauses her work through the API (`PAUSE ALICE
// reason`, answered `PAUSED`). Every wait is for a condition (Playwright's auto-waiting
// locators and expect-style polls), never a fixed sleep. axe-core audits each
// main view at 1280 and 360 px wide (WCAG 2.0/2.1 A and AA rules, tests/a11y.mjs);
// one flow (sign in, submit, open the job, cancel it) is done with the keyboard only.
//
// node console.mjs BASE_URL [SCREENSHOT_DIR]
// env: ALICE_TOKEN, ALICE_LINK (what `videojobs console` printed), BOB_TOKEN,
// ADMIN_TOKEN, FORGED_TOKEN
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { audit, violations } from "./a11y.mjs";

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
  // A submission from this view before shows its lines until this one's
  // answer replaces them: wait for those to go, or they would be read.
  const before = await page.$('ol[aria-label="Submitted lines"]');
  await page.getByRole("button", { name: "Submit", exact: true }).click();
  if (before) await page.waitForFunction((list) => !list.isConnected, before);
  const lines = page.getByRole("list", { name: "Submitted lines" }).locator("li");
  await lines.nth(urls.length - 1).waitFor();
  const ids = [];
  for (let i = 0; i < urls.length; i++) {
    const href = await lines.nth(i).locator("a").getAttribute("href").catch(() => null);
    ids.push(href ? href.split("/").pop() : null);
  }
  return ids;
}

/** Waits for `row` (something in job `id`'s row); on a timeout, says what the page's store holds of the job. */
async function rowShows(page, id, row) {
  await row.waitFor().catch(async (error) => {
    // What the page's store holds, to tell a missed event from a filtered or unrendered row.
    const store = await page.evaluate((id) => {
      const live = window.__videojobs;
      const job = live.jobs.get(id);
      const ahead = job?.estimate ? `${job.estimate.jobsAhead ?? "?"} ahead` : "none";
      return `job ${job ? `state ${job.state} attempt ${job.attempt} paused ${!!job.paused?.paused} estimate ${ahead}` : "unknown"}, ` +
        `early estimate ${live.early?.has(id)}, in order ${live.order.includes(id)}, ` +
        `${live.jobs.size} loaded, filters ${JSON.stringify({ states: live.states, batch: live.batch, text: live.text })}, ` +
        `connection ${live.connection} ${live.connectionDetail}, last sequence ${live.lastSequence}, seen …${live.seen.slice(-5).join(",")}, ` +
        `rows ${document.querySelectorAll("li.job").length}, row "${document.querySelector(`li.job[data-job-id="${id}"]`)?.textContent ?? ""}", ` +
        `view ${location.hash}`;
    }, id).catch((e) => `unreadable: ${e.message}`);
    say(`STORE ${id}: ${store}`);
    throw error;
  });
}

async function jobState(page, id, state) {
  await rowShows(page, id, page.locator(`li.job[data-job-id="${id}"][data-state="${state}"]`));
}

async function openJob(page, id) {
  await page.goto(`${base}/#/jobs/${id}`);
  // The job's own heading (its notes, once shown, have headings of their own).
  await page.locator("h1#job-title").waitFor();
}

/** Waits for the focus to be on the element reading `text`; on a timeout, says where it is. */
async function focusOn(page, text) {
  await waitFor(page, (text) => document.activeElement?.textContent === text, text).catch(async (error) => {
    const where = await page.evaluate(() =>
      `focus on ${document.activeElement?.outerHTML.slice(0, 120) ?? "nothing"}; page: ${document.querySelector("main, body")?.innerText.slice(0, 200)}`,
    ).catch((e) => `unreadable: ${e.message}`);
    throw new Error(`the focus never reached "${text}": ${where}\n${error.message}`);
  });
}

/** Emulates the tab being hidden (or seen again): headless Chromium shows every tab. */
async function setHidden(page, hidden) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (hidden ? "hidden" : "visible") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

/** Waits for the job page's program output to show `text`. */
async function outputShows(page, text) {
  await waitFor(page, (text) => document.querySelector('[data-testid="job-log"]')?.textContent.includes(text), text);
}

/** Presses Tab (Shift+Tab: `back`) until `target` has the focus, as a person would. */
async function tabTo(page, target, back = false) {
  await target.waitFor();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`Tab did not reach ${target}`);
}

/** `date` as a datetime-local field's value (the browser's local time, to the minute). */
function localMinute(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
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

  // --- Reprocess it with another subject and no assessment: the new notes replace the old ones.
  await page.locator('section.note[data-kind="notes"] .note-meta').getByText(/Subject: Physics/).waitFor();
  await page.getByRole("button", { name: "Reprocess…" }).click();
  const again = page.getByRole("group", { name: /Run this job again\?/ });
  check(await again.getByLabel("Subject").inputValue() === "Physics", "the form starts from the job's subject");
  await again.getByLabel("Subject").fill("Chemistry");
  await again.getByLabel("Write an assessment too").uncheck();
  await audit(page, "job-reprocess-form@1280");
  await shot(page, "job-reprocess");
  await again.getByRole("button", { name: "Yes, reprocess" }).click();
  await page.locator('section.note[data-kind="notes"] .note-meta').getByText(/Subject: Chemistry/).waitFor();
  await page.getByTestId("job-state").getByText("completed").waitFor();
  check(await page.locator('section.note[data-kind="assessment"]').count() === 0, "the new run wrote no assessment");
  check(await page.getByTestId("timeline").locator('li[data-type="completed"]').count() >= 2, "the timeline shows both runs");
  say(`REPROCESSED ${done}`);

  // --- A bad URL shows its error beside its line; the good one is queued.
  const [good, bad] = await submit(page, ["https://youtu.be/9bZkp7q19f0", "https://example.com/not-youtube"]);
  check(good && !bad, "one line queued, one refused");
  const refused = page.locator('ol.lines li.refused[data-url="https://example.com/not-youtube"] .line-error');
  await refused.waitFor();
  check(/url/i.test(await refused.textContent()), "the refusal names the URL");
  await shot(page, "submit-errors");
  say("BAD URL BESIDE ITS LINE");

  // --- With the keyboard only (Tab, Enter, Escape): sign in, submit a hanging job, open it, cancel it.
  {
    const { page: keys } = await open(null);
    await keys.goto(base);
    await tabTo(keys, keys.getByLabel("Your token"));
    await keys.keyboard.insertText(ALICE_TOKEN); // as a paste would
    await tabTo(keys, keys.getByRole("button", { name: "Sign in" }));
    await keys.keyboard.press("Enter");
    await keys.getByTestId("connection").getByText("live").waitFor();
    await tabTo(keys, keys.getByRole("link", { name: "Submit", exact: true }));
    await keys.keyboard.press("Enter");
    await tabTo(keys, keys.getByLabel("YouTube URLs, one a line"));
    await keys.keyboard.type("https://youtu.be/hang0000001");
    await tabTo(keys, keys.getByLabel("Subject"));
    await keys.keyboard.type("Keys");
    await tabTo(keys, keys.getByRole("button", { name: "Submit", exact: true }));
    await keys.keyboard.press("Enter");
    const opener = keys.getByRole("link", { name: "queued — open the job" });
    await tabTo(keys, opener);
    const hang = (await opener.getAttribute("href")).split("/").pop();
    await keys.keyboard.press("Enter");
    await keys.getByTestId("job-state").getByText("processing").waitFor();
    await tabTo(keys, keys.getByRole("button", { name: "Cancel job" }));
    await keys.keyboard.press("Enter");
    // The question takes the focus on its safe answer; Escape takes it back, focus on the button again.
    await focusOn(keys, "No");
    await keys.keyboard.press("Escape");
    await focusOn(keys, "Cancel job");
    check(await keys.getByTestId("job-state").textContent() === "processing", "Escape cancelled nothing");
    await keys.keyboard.press("Enter");
    await tabTo(keys, keys.getByRole("button", { name: "Yes, cancel it" }), true);
    await keys.keyboard.press("Enter");
    await keys.getByTestId("job-state").getByText("cancelled").waitFor();
    say(`CANCELLED BY KEYBOARD ${hang}`);
    await keys.close();
  }

  // --- Two tabs on a running job's page hold three streams each and this tab's list one: more
  // than the six connections Chromium gives one host over HTTP/1.1, so calls would wait. A tab
  // hidden for a few seconds gives its streams back: the other tab's output shows and its
  // Cancel answers. Seen again, the hidden tab picks up where it stopped and misses nothing.
  {
    const [spin] = await submit(page, ["https://youtu.be/hang0000005"], "Tabs");
    const first = await open(ALICE_TOKEN);
    await openJob(first.page, spin);
    await first.page.getByTestId("job-state").getByText("processing").waitFor();
    await outputShows(first.page, "Study Buddy");
    await setHidden(first.page, true);
    const second = await open(ALICE_TOKEN);
    await openJob(second.page, spin);
    await outputShows(second.page, "Study Buddy");
    await second.page.getByRole("button", { name: "Cancel job" }).click();
    await second.page.getByRole("button", { name: "Yes, cancel it" }).click();
    await second.page.getByRole("status").getByText("Cancelled.").waitFor();
    await second.page.getByTestId("job-state").getByText("cancelled").waitFor();
    await setHidden(first.page, false);
    await first.page.getByTestId("job-state").getByText("cancelled").waitFor();
    await first.page.getByTestId("timeline").locator('li[data-type="cancelled"]').waitFor();
    await first.page.getByTestId("connection").getByText("live").waitFor();
    const steps = await first.page.$$eval('[data-testid="timeline"] li', (items) => items.map((li) => Number(li.dataset.sequence)));
    check(steps.length >= 3 && steps.every((s, i) => i === 0 || s > steps[i - 1]),
      `the hidden tab's timeline resumed where it stopped, each event once: ${steps}`);
    check(await first.page.evaluate(seenContiguous), "the hidden tab's list resumed from its last sequence");
    say(`HIDDEN TAB GAVE ITS STREAMS BACK ${spin}`);
    await first.page.close();
    await second.page.close();
  }

  // --- Retry a failed one: it runs again (and fails again, permanently).
  const [fail] = await submit(page, ["https://youtu.be/fail0000001"]);
  await openJob(page, fail);
  await page.getByTestId("job-state").getByText("failed").waitFor();
  await page.getByTestId("job-error").waitFor();
  check(await page.getByTestId("job-priority").textContent() === "0", "submitted at priority 0");
  await page.getByRole("button", { name: "Retry" }).click();
  await page.getByRole("group", { name: /Run this job again with fresh attempts/ }).getByLabel(/Priority/).fill("5");
  await page.getByRole("button", { name: "Yes, retry" }).click();
  await page.getByTestId("job-priority").getByText("5", { exact: true }).waitFor();
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

  // --- Waiting in line: hanging jobs take both workers, two more wait; the second's row and page
  // show "1 ahead" (from ESTIMATE events on the page's stream), its place moves up live when
  // a worker frees (the test cancels the hanging jobs through the API: this page keeps its
  // streams open, and Chromium gives one host only six HTTP/1.1 connections), and once it
  // runs its estimate goes.
  // A search cleared just before leaving the list (sooner than the pause after which typing is
  // asked of the server) holds: back on the list, its field is empty and every job shows.
  await page.getByLabel("Search").fill("");
  // Leave at once: a click that does not first wait for the link to hold still, as Playwright's does.
  await page.getByRole("link", { name: "Submit", exact: true }).dispatchEvent("click");
  await page.getByLabel("YouTube URLs, one a line").waitFor();
  const [hangA] = await submit(page, ["https://youtu.be/hang0000002"], "Line");
  const [hangB] = await submit(page, ["https://youtu.be/hang0000003"], "Line");
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  check(await page.getByLabel("Search").inputValue() === "", "the search cleared just before leaving the list holds");
  await jobState(page, done, "completed");
  await jobState(page, hangA, "processing");
  await jobState(page, hangB, "processing");
  const [hangC] = await submit(page, ["https://youtu.be/hang0000004"], "Line");
  const [waits] = await submit(page, ["https://youtu.be/line0000001"], "Line");
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  await rowShows(page, hangC, page.locator(`li.job[data-job-id="${hangC}"][data-state="queued"] .eta`).getByText(/^next in line/));
  await rowShows(page, waits, page.locator(`li.job[data-job-id="${waits}"][data-state="queued"] .eta`).getByText(/^1 ahead/));
  await audit(page, "jobs-waiting@1280");
  await shot(page, "jobs-waiting");
  await narrow.page.goto(`${base}/#/jobs`);
  await rowShows(narrow.page, waits, narrow.page.locator(`li.job[data-job-id="${waits}"] .eta`).getByText(/^1 ahead/));
  await audit(narrow.page, "jobs-waiting@360");
  await shot(narrow.page, "jobs-waiting-360");
  await openJob(narrow.page, waits);
  await narrow.page.getByTestId("job-estimate").getByText(/^Place in line: 1 job ahead\./).waitFor();
  await audit(narrow.page, "job-waiting@360");
  await shot(narrow.page, "job-waiting-360");
  await narrow.context.close();
  // A running job's page has its estimated finish (GetJob's answer).
  await openJob(page, hangA);
  await page.getByTestId("job-estimate").getByText(/^Estimated finish ~/).waitFor();
  await openJob(page, waits);
  await page.getByTestId("job-estimate").getByText(/^Place in line: 1 job ahead\./).waitFor();
  await audit(page, "job-waiting@1280");
  await shot(page, "job-waiting");
  say(`WAITING 1 AHEAD ${waits}`);
  // A worker frees: the third hanging job starts, and this page moves up, live.
  await ask(`CANCEL ${hangA}`, "CANCELLED");
  await page.getByTestId("job-estimate").getByText(/^Place in line: next, no job ahead\./).waitFor();
  check(await page.getByTestId("job-state").textContent() === "queued", "it still waits");
  say(`MOVED UP LIVE ${waits}`);
  // Both workers free: it runs to COMPLETED, and no estimate is left on its page.
  await ask(`CANCEL ${hangB}`, "CANCELLED");
  await ask(`CANCEL ${hangC}`, "CANCELLED");
  await page.getByTestId("job-state").getByText("completed").waitFor();
  check(await page.getByTestId("job-estimate").count() === 0, "a finished job has no estimate");
  say(`WAITED AND RAN ${waits}`);

  // --- Pause my work: a job submitted meanwhile stays queued and says it is paused, and why.
  await page.goto(`${base}/#/jobs`);
  const own = page.getByTestId("own-pause");
  await own.getByRole("button", { name: "Pause my work…" }).click();
  await own.getByLabel("Reason (optional)").fill("Lunch break");
  await own.getByRole("button", { name: "Yes, pause" }).click();
  await own.locator(".paused-note").getByText(/Your work is paused/).waitFor();
  const [held] = await submit(page, ["https://youtu.be/pausd000001"]);
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  await page.getByLabel("Search").fill("");
  const heldRow = page.locator(`li.job[data-job-id="${held}"][data-state="queued"][data-paused="true"]`);
  await rowShows(page, held, heldRow.getByText("paused (your work): Lunch break"));
  await shot(page, "jobs-paused");
  say(`PAUSED ${held}`);

  // --- A batch, submitted while paused: it waits; paused on its own too, with a reason.
  await submit(page, ["https://youtu.be/aaaaaaaaaa1", "https://youtu.be/aaaaaaaaaa2", "https://youtu.be/aaaaaaaaaa3"], "Batch");
  await page.getByRole("link", { name: "Batches" }).click();
  const batch = page.locator("li.batch").first();
  await batch.getByText(/3 jobs: 3 waiting, 0 running/).waitFor();
  await batch.getByRole("button", { name: "Pause batch…" }).click();
  await batch.getByLabel("Reason (optional)").fill("Waiting for the slides");
  await batch.getByRole("button", { name: "Yes, pause" }).click();
  await batch.locator(".paused-note").getByText(/This batch is paused/).waitFor();
  await batch.getByText(/Waiting for the slides/).waitFor();
  await shot(page, "batches");
  say("BATCH PAUSED");

  // --- The held job's page says so; resuming my work from there lets it run to COMPLETED.
  await openJob(page, held);
  await page.getByTestId("job-state").getByText("queued").waitFor();
  await page.getByTestId("job-paused").getByText(/Your work is paused/).waitFor();
  await page.getByTestId("job-paused").getByText(/Lunch break/).waitFor();
  await audit(page, "job-paused@1280");
  await shot(page, "job-paused");
  await page.getByTestId("job-paused").getByRole("button", { name: "Resume" }).click();
  await page.getByRole("button", { name: "Yes, resume" }).click();
  await page.getByTestId("job-state").getByText("completed").waitFor();
  check(await page.getByTestId("job-paused").count() === 0, "no pause shown once it ran");
  say(`RESUMED ${held}`);

  // --- The batch's own pause still holds it; resumed, its jobs run.
  await page.getByRole("link", { name: "Batches" }).click();
  await batch.locator(".paused-note").getByText(/This batch is paused/).waitFor();
  // Its jobs waited while the held job, free of its pause, ran to COMPLETED.
  check(/3 jobs: 3 waiting, 0 running/.test(await batch.locator(".counts").textContent()), "the paused batch's jobs still wait");
  await batch.getByRole("button", { name: "Resume batch" }).click();
  await batch.getByRole("button", { name: "Yes, resume" }).click();
  await batch.getByText(/3 jobs: 0 waiting, 0 running, 3 completed/).waitFor();
  say("BATCH RESUMED");

  // --- A pause made elsewhere (through the API, as the terminal client would), with nothing of
  // Alice's waiting: a page opened afterwards shows it (ListPauses), reason and all, and resumes it.
  await ask("PAUSE ALICE Paused from the terminal", "PAUSED");
  {
    const fresh = await open(ALICE_TOKEN);
    const mine = fresh.page.getByTestId("own-pause");
    await mine.locator(".paused-note").getByText(/Your work is paused/).waitFor();
    await mine.getByText(/Paused from the terminal/).waitFor();
    check(await fresh.page.locator('li.job[data-paused="true"]').count() === 0, "no job shows the pause: the page read it");
    say("PAUSE FROM THE API SHOWN ON LOAD");
    await mine.getByRole("button", { name: "Resume my work" }).click();
    await mine.getByRole("button", { name: "Yes, resume" }).click();
    await fresh.page.locator('[data-testid="own-pause"][data-paused="false"]').waitFor();
    await mine.getByRole("button", { name: "Pause my work…" }).waitFor();
    say("PAUSE FROM THE API RESUMED");
    await fresh.context.close();
  }

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
  const node = admin.page.getByTestId("node");
  await node.getByTestId("node-state").getByText("serving", { exact: true }).waitFor();
  await shot(admin.page, "operations");
  await group.getByRole("button", { name: "Retry all" }).click();
  await group.getByRole("button", { name: "Yes, retry them" }).click();
  await admin.page.getByRole("status").getByText(/Retried 1 job/).waitFor();
  say("ADMIN RETRIED A GROUP");

  // --- The admin pauses everything (a reason, a time it ends by itself), sees it, and resumes.
  const all = admin.page.getByTestId("pause-everything");
  await all.getByText(/^Not paused/).waitFor();
  await all.getByRole("button", { name: "Pause everything…" }).click();
  await all.getByLabel("Reason (optional)").fill("Database upgrade");
  await all.getByLabel("Resume by itself at (optional)").fill(localMinute(new Date(Date.now() + 2 * 3600_000)));
  await all.getByRole("button", { name: "Yes, pause" }).click();
  await all.locator(".paused-note").getByText(/Everyone's work is paused/).waitFor();
  await all.getByText(/Database upgrade/).waitFor();
  await all.getByText(/Resumes by itself at/).waitFor();
  await shot(admin.page, "operations-paused");
  await all.getByRole("button", { name: "Resume everything" }).click();
  await all.getByRole("button", { name: "Yes, resume" }).click();
  await all.getByText(/^Not paused/).waitFor();
  say("ADMIN PAUSED AND RESUMED EVERYTHING");

  // --- This node: serving, and (refreshed every 5 s) running nothing once the retried job has failed again.
  await node.getByTestId("node-running").getByText("0", { exact: true }).waitFor();
  check(await node.getByTestId("node-state").textContent() === "serving", "the node serves");
  check((await node.locator(".node-name dd").textContent()).includes(":"), "the node's name, host:pid");
  say("ADMIN SEES THE NODE SERVING");

  // --- axe on each main view, on a desktop and at 360 px.
  for (const width of [1280, 360]) {
    const viewport = { width, height: width < 400 ? 740 : 800 };
    const { page: signin } = await open(null, viewport);
    await signin.goto(base);
    await signin.getByLabel("Your token").waitFor();
    await audit(signin, `sign-in@${width}`);
    await signin.close();
    const { page: a } = await open(ALICE_TOKEN, viewport);
    await jobState(a, done, "completed");
    await audit(a, `jobs@${width}`);
    await openJob(a, done);
    await a.locator("section.note").first().waitFor();
    await a.getByText("the attempt has ended").waitFor();
    await audit(a, `job-completed@${width}`);
    await openJob(a, fail);
    await a.getByTestId("job-error").waitFor();
    await audit(a, `job-failed@${width}`);
    await a.goto(`${base}/#/batches`);
    await a.locator("li.batch").first().waitFor();
    await audit(a, `batches@${width}`);
    await a.goto(`${base}/#/submit`);
    await a.getByLabel("YouTube URLs, one a line").waitFor();
    await audit(a, `submit@${width}`);
    await a.close();
    const { page: o } = await open(ADMIN_TOKEN, viewport);
    await o.goto(`${base}/#/admin`);
    await o.getByTestId("stats").waitFor();
    await o.getByTestId("pause-everything").getByText(/^Not paused/).waitFor();
    await o.getByTestId("node-state").getByText("serving", { exact: true }).waitFor();
    await audit(o, `operations@${width}`);
    if (width < 400) await shot(o, "operations-360");
    await o.close();
  }

  // --- Last (nothing after it needs a job to run): the admin drains the node; it says so.
  await node.getByRole("button", { name: "Drain this node…" }).click();
  await node.getByRole("group", { name: /Drain this node\? It finishes the jobs it runs and takes no new ones/ }).waitFor();
  await audit(admin.page, "operations-drain-question@1280");
  await node.getByRole("button", { name: "Yes, drain it" }).click();
  await node.getByTestId("node-state").getByText(/^(draining|drained)$/).waitFor();
  await node.getByRole("status").getByText(/^(Draining|Drained):/).waitFor();
  check(await node.getByRole("button", { name: "Drain this node…" }).count() === 0, "no second drain");
  await node.getByTestId("node-state").getByText("drained", { exact: true }).waitFor();
  await shot(admin.page, "operations-drained");
  say("ADMIN DRAINED THE NODE");

  check(violations().length === 0, `axe found violations:\n${violations().join("\n")}`);
  say("AXE CLEAN");
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
