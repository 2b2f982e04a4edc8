// The same client in headless Chromium, so CORS is exercised for real:
// serves browser/index.html on 127.0.0.1:<page port>, opens it as
// http://localhost:<page port> (an origin the server must allow), submits a
// video and follows it to COMPLETED; then opens it as
// http://127.0.0.1:<page port> (an origin the server must not allow) and
// checks that the browser refuses the call. Exits non-zero on anything else.
//
//   VIDEOJOBS_TOKEN=<jwt> node web/follow-job-browser.mjs http://127.0.0.1:50051 <page port>
//
// Needs /usr/bin/chromium (Debian's `chromium`; scripts/web-setup.sh installs
// it); playwright-core drives it, no browser download.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript" };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function isFile(file) {
  return (await stat(file).catch(() => null))?.isFile() ?? false;
}

/** Serves the page, the client module and node_modules/@protobuf-ts (adding ".js" to extension-less imports). */
function servePage(port) {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, "http://page");
    let file = pathname === "/" ? path.join(ROOT, "browser", "index.html") : path.join(ROOT, path.normalize(pathname));
    const allowed = pathname === "/" || pathname === "/videojobs-client.mjs" || pathname.startsWith("/node_modules/@protobuf-ts/");
    if (allowed && !(await isFile(file)) && (await isFile(`${file}.js`))) file = `${file}.js`;
    if (!allowed || !file.startsWith(ROOT) || !(await isFile(file))) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    res.end(await readFile(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function openPage(context, url) {
  const page = await context.newPage();
  page.on("console", (msg) => msg.type() === "error" && console.error(`  [${url} console] ${msg.text()}`));
  page.on("pageerror", (error) => console.error(`  [${url} page error] ${error}`));
  await page.goto(url);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 10_000 });
  return page;
}

async function main() {
  const [baseUrl, pagePort] = process.argv.slice(2);
  const token = process.env.VIDEOJOBS_TOKEN;
  check(baseUrl && Number(pagePort) > 0 && token, "usage: VIDEOJOBS_TOKEN=<jwt> node follow-job-browser.mjs <base url> <page port>");
  check(await isFile(CHROMIUM), `${CHROMIUM} is missing: run scripts/web-setup.sh (apt-get install -y chromium)`);

  const pageServer = await servePage(Number(pagePort));
  const profile = await mkdtemp(path.join(tmpdir(), "videojobs-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });

    const allowedOrigin = `http://localhost:${pagePort}`;
    const page = await openPage(context, `${allowedOrigin}/`);
    const result = await page.evaluate(([b, t]) => window.followJob(b, t), [baseUrl, token]);
    for (const line of result.lines) console.log(`BROWSER EVENT ${line}`);
    check(result.last.type === 5 && result.last.job.state === 4, `the job ended ${result.lines.at(-1)}`);
    console.log(`BROWSER COMPLETED ${result.jobId} notes=${result.last.job.noteIds.length} origin=${allowedOrigin}`);

    const otherOrigin = `http://127.0.0.1:${pagePort}`;
    const other = await openPage(context, `${otherOrigin}/`);
    const refused = await other.evaluate(
      ([b, t]) => window.followJob(b, t).then(() => "succeeded", (error) => `${error.code ?? ""} ${error.message}`),
      [baseUrl, token],
    );
    check(refused !== "succeeded", `a call from ${otherOrigin} succeeded; CORS should have refused it`);
    console.log(`BROWSER REFUSED origin=${otherOrigin}: ${refused}`);
  } finally {
    await context?.close().catch(() => {});
    pageServer.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`FAILED: ${error?.stack ?? error}`);
  process.exit(1);
});
