'use strict';
// BullMQ peer for the job-service benchmark.
//
// Does the same work as the Rust service, but with BullMQ on Redis, so both can
// be timed on the same machine:
//   throughput: queue N jobs (addBulk, chunks of 1000) and let a Worker with
//               concurrency C run the stand-in program for each one. Each job's
//               notes are returned from the processor, so BullMQ stores them in
//               Redis. Time runs from the first addBulk until all N complete.
//   addbulk:    time one queue.addBulk call of N jobs, with no worker.
// Prints one JSON line to stdout, then obliterates the queue so nothing is left
// in Redis.
//
// Usage (bullmq resolved through NODE_PATH):
//   NODE_PATH=<scratch>/node_modules node bench/bullmq/peer.cjs <throughput|addbulk> \
//     --redis redis://127.0.0.1:6379 --prefix <prefix> --jobs N [--concurrency C] \
//     [--program <path> [--arg X]...]
// Since bullmq 6, ioredis is an optional peer dependency that npm does not install
// on its own: install it next to bullmq (npm install ... bullmq@latest ioredis).

const { Queue, Worker } = require('bullmq');
const { spawn } = require('node:child_process');
const fs = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');

const QUEUE = 'bench';
const SUBJECT = 'Physics';
const CHUNK = 1000;
const STDERR_KEEP = 4096;

function parseArgs(argv) {
  const opts = { mode: argv[0], concurrency: 1, args: [] };
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i]; // taken verbatim, even when it starts with "--"
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    switch (flag) {
      case '--redis': opts.redis = value; break;
      case '--prefix': opts.prefix = value; break;
      case '--jobs': opts.jobs = Number(value); break;
      case '--concurrency': opts.concurrency = Number(value); break;
      // Absolute, since the stand-in runs with cwd = its scratch dir.
      case '--program': opts.program = path.resolve(value); break;
      case '--arg': opts.args.push(value); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!['throughput', 'addbulk'].includes(opts.mode)) throw new Error('mode must be throughput or addbulk');
  if (!opts.redis || !opts.prefix) throw new Error('--redis and --prefix are required');
  if (!(opts.jobs > 0)) throw new Error('--jobs must be a positive number');
  if (opts.mode === 'throughput' && !opts.program) throw new Error('--program is required for throughput');
  return opts;
}

// redis://[user:pass@]host:port[/db] -> ioredis-style options (works with bullmq 5 and 6).
function connectionFrom(url) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1)) || 0,
  };
}

// 11-char video ids: "b" + 10-digit counter (never starts with fail/flaky/hang/...).
function jobsData(n) {
  const jobs = [];
  for (let i = 1; i <= n; i++) {
    const id = 'b' + String(i).padStart(10, '0');
    jobs.push({ name: 'video', data: { url: `https://youtu.be/${id}`, subject: SUBJECT } });
  }
  return jobs;
}

function run(program, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s) => {
      stderr += s;
      if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });
    child.on('error', reject);
    // 'close' fires after exit and after both pipes are drained.
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: stderr.slice(-STDERR_KEEP) }));
  });
}

async function readNotes(dir) {
  const notesDir = path.join(dir, 'notes', SUBJECT);
  let names;
  try {
    names = await fs.readdir(notesDir);
  } catch {
    return [];
  }
  const notes = [];
  for (const name of names.filter((n) => n.endsWith('.md')).sort()) {
    notes.push({ name, markdown: await fs.readFile(path.join(notesDir, name), 'utf8') });
  }
  return notes;
}

function makeProcessor(program, args) {
  return async (job) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bullmq-peer-'));
    try {
      const res = await run(program, [...args, job.data.url, '--subject', job.data.subject], dir);
      const notes = await readNotes(dir);
      const ok = res.stderr.includes('COMPLETE: 1/1') && notes.some((n) => !n.name.startsWith('Assessment_'));
      if (!ok) {
        throw new Error(`stand-in failed (code ${res.code}, signal ${res.signal}): ${res.stderr.slice(-500)}`);
      }
      return { notes };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  };
}

async function throughput(opts, connection) {
  const { jobs: n, concurrency } = opts;
  const queue = new Queue(QUEUE, { connection, prefix: opts.prefix });
  const worker = new Worker(QUEUE, makeProcessor(opts.program, opts.args), {
    connection: { ...connection, maxRetriesPerRequest: null },
    prefix: opts.prefix,
    concurrency,
  });
  worker.on('error', (err) => console.error('worker error:', err.message));

  let completed = 0;
  let failed = 0;
  const allDone = new Promise((resolve) => {
    const check = () => { if (completed + failed >= n) resolve(); };
    worker.on('completed', () => { completed++; check(); });
    worker.on('failed', (job, err) => {
      if (failed++ === 0) console.error('first failure:', err.message);
      check();
    });
  });
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

  const data = jobsData(n);
  const start = performance.now();
  for (let i = 0; i < n; i += CHUNK) await queue.addBulk(data.slice(i, i + CHUNK));
  await allDone;
  const seconds = (performance.now() - start) / 1000;

  const counts = await queue.getJobCounts('completed', 'failed');
  if (counts.completed !== completed || counts.failed !== failed) {
    console.error(`event counts (${completed}/${failed}) != getJobCounts (${counts.completed}/${counts.failed})`);
  }
  console.log(JSON.stringify({
    mode: 'throughput', jobs: n, concurrency, seconds: Number(seconds.toFixed(3)), completed, failed,
  }));

  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return counts.completed === n && completed === n ? 0 : 1;
}

async function addbulk(opts, connection) {
  const n = opts.jobs;
  const queue = new Queue(QUEUE, { connection, prefix: opts.prefix });
  await queue.waitUntilReady();
  const data = jobsData(n);
  // One addBulk call for all N (10000 jobs: ~0.6 s, about the same as chunks of 1000).
  const start = performance.now();
  await queue.addBulk(data);
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ mode: 'addbulk', jobs: n, seconds: Number(seconds.toFixed(3)) }));
  await queue.obliterate({ force: true });
  await queue.close();
  return 0;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const connection = connectionFrom(opts.redis);
  return opts.mode === 'throughput' ? throughput(opts, connection) : addbulk(opts, connection);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
