/**
 * Starts a real Berth server for the browser tests and seeds it.
 *
 *   BERTH_BIN        server binary (default ../target/debug/berth, relative to end2end/)
 *   BERTH_SITE_ROOT  built site (default ../target/site)
 *   BERTH_E2E_KEEP   set to keep the temporary data directory after the run
 *   BERTH_TEST_LOG_DIR  where to keep the server's log and the secrets the tests know
 *
 * Exposes the server's URL to the tests as process.env.BERTH_E2E_URL, its data
 * directory as BERTH_E2E_DATA_DIR and the binary as BERTH_E2E_BIN (for admin
 * commands such as `berth access-key create`); workers inherit the runner's
 * environment.
 * The returned function is Playwright's global teardown: it stops the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'e2e-password';
export const REPOSITORIES = ['team-a/web-app', 'team-a/worker', 'tools/builder'];

// Only complete lines: a chunk boundary must not cut the port short.
const LISTENING = /Berth is listening on (http:\/\/\S+)[^\n]*\n/;
const STARTUP_TIMEOUT_MS = 60_000;

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resolves with the URL from the server's "listening" line. */
function waitForListening(server: ChildProcess, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`no "Berth is listening on" line within ${STARTUP_TIMEOUT_MS / 1000}s`),
      STARTUP_TIMEOUT_MS,
    );
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const match = LISTENING.exec(pending);
      if (match) {
        done();
        resolve(match[1].replace(/\/+$/, ''));
      } else {
        pending = pending.slice(pending.lastIndexOf('\n') + 1);
      }
    };
    const onError = (err: Error) => fail(`could not start: ${err.message}`);
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited during start-up (code ${code}, signal ${signal})`);
    function done() {
      clearTimeout(timer);
      server.stdout!.off('data', onData);
      server.off('error', onError);
      server.off('exit', onExit);
    }
    function fail(why: string) {
      done();
      // Give the log stream a moment to flush the server's last words.
      setTimeout(() => reject(new Error(`berth server: ${why}\n--- ${logFile} ---\n${tail(logFile)}`)), 200);
    }
    server.stdout!.on('data', onData);
    server.once('error', onError);
    server.once('exit', onExit);
  });
}

/** Polls GET / until it answers 200. */
async function waitForReady(url: string, server: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) break;
    try {
      const res = await fetch(`${url}/`);
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`berth server at ${url} not ready (GET / → ${last})\n--- ${logFile} ---\n${tail(logFile)}`);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  const body = await res.text();
  if (res.status !== want) {
    throw new Error(`${what}: expected HTTP ${want}, got ${res.status}: ${body.slice(0, 500)}`);
  }
}

/** Pushes a config blob and a v1 manifest, creating the repository. */
async function seedRepository(url: string, name: string): Promise<void> {
  const auth = 'Basic ' + Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64');
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, comment: name }),
  );
  const digest = `sha256:${sha256(config)}`;

  await expectStatus(
    await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
      body: config,
    }),
    201,
    `monolithic blob upload to ${name}`,
  );

  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length },
    layers: [],
  });
  await expectStatus(
    await fetch(`${url}/v2/${name}/manifests/v1`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    }),
    201,
    `manifest push to ${name}:v1`,
  );
}

function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => server.kill('SIGKILL'), 10_000);
    server.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    server.kill('SIGTERM');
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = path.resolve(__dirname, process.env.BERTH_BIN ?? '../target/debug/berth');
  const siteRoot = path.resolve(__dirname, process.env.BERTH_SITE_ROOT ?? '../target/site');
  if (!existsSync(bin)) throw new Error(`berth binary not found at ${bin} (build it, or set BERTH_BIN)`);
  if (!existsSync(siteRoot)) throw new Error(`site root not found at ${siteRoot} (run cargo xtask build, or set BERTH_SITE_ROOT)`);

  const tmp = mkdtempSync(path.join(tmpdir(), 'berth-e2e-'));
  const dataDir = path.join(tmp, 'data');
  // With BERTH_TEST_LOG_DIR (make test) the log is kept there, with the
  // admin password, for .ci/secrets-grep.sh.
  const keptLogs = process.env.BERTH_TEST_LOG_DIR;
  const logFile = keptLogs ? path.join(keptLogs, `e2e-${process.pid}.log`) : path.join(tmp, 'server.log');
  if (keptLogs) appendFileSync(path.join(keptLogs, 'secrets'), `${ADMIN_PASSWORD}\n`);
  const log = createWriteStream(logFile);

  const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    // The default GC grace (an hour): the GC test pushes its garbage through
    // a second server whose clock runs two days behind (registry.ts).
    // No test server downloads the vulnerability database from the internet.
    env: { ...process.env, BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD, BERTH_SITE_ROOT: siteRoot, BERTH_VULNDB_INTERVAL: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.pipe(log, { end: false });
  server.stderr!.pipe(log, { end: false });
  // Never leave the server behind, even if the runner dies abruptly.
  const killOnExit = () => server.kill('SIGKILL');
  process.once('exit', killOnExit);

  const teardown = async () => {
    await stopServer(server);
    process.off('exit', killOnExit);
    log.end();
    if (process.env.BERTH_E2E_KEEP) {
      console.log(`berth e2e: kept ${tmp}`);
    } else {
      rmSync(tmp, { recursive: true, force: true });
    }
  };

  try {
    const url = await waitForListening(server, logFile);
    await waitForReady(url, server, logFile);
    for (const name of REPOSITORIES) await seedRepository(url, name);

    process.env.BERTH_E2E_URL = url;
    process.env.BERTH_E2E_DATA_DIR = dataDir;
    process.env.BERTH_E2E_BIN = bin;
    console.log(`berth e2e: server at ${url}, log ${logFile}`);
  } catch (err) {
    process.env.BERTH_E2E_KEEP = '1';
    await teardown();
    throw err;
  }
  return teardown;
}
