/**
 * Talking to the test server outside the browser: the registry API with Basic
 * auth (pushes, upload starts), the `berth` CLI against the server's data
 * directory (users, access keys, fsck), and the AWS CLI with an access key.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, ADMIN_USER, baseURL } from './helpers';

/** The `berth` binary, resolved as global-setup.ts resolves it. */
export function berthBinary(): string {
  return path.resolve(__dirname, '..', process.env.BERTH_BIN ?? '../target/debug/berth');
}

/** The running server's data directory (set by global-setup.ts). */
export function dataDir(): string {
  const dir = process.env.BERTH_E2E_DATA_DIR;
  if (!dir) throw new Error('BERTH_E2E_DATA_DIR is not set: global-setup.ts did not run');
  return dir;
}

/** Runs `berth <args> --data-dir <dir>`; returns stdout; throws with its output on failure. */
export function berth(args: string[], env: Record<string, string> = {}): string {
  const childEnv = { ...process.env, ...env };
  delete childEnv.BERTH_CONFIG;
  return execFileSync(berthBinary(), [...args, '--data-dir', dataDir()], { env: childEnv, encoding: 'utf8' });
}

/** A unique suffix for names a test creates. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Creates a user with the power-user managed policy (push and pull anywhere). */
export function createPowerUser(name: string, password: string): void {
  berth(['user', 'create', name, '--policy', 'AmazonEC2ContainerRegistryPowerUser'], { BERTH_USER_PASSWORD: password });
}

function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** Uploads a blob in one request (as admin unless told otherwise); returns its digest. */
export async function pushBlob(name: string, data: Buffer, user = ADMIN_USER, password = ADMIN_PASSWORD, base = baseURL()): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const res = await fetch(`${base}/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { Authorization: basic(user, password), 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  if (res.status !== 201) throw new Error(`blob upload to ${name}: HTTP ${res.status}: ${await res.text()}`);
  return digest;
}

/** Pushes a one-config image tagged v1, creating the repository. */
export async function pushImage(name: string, base = baseURL()): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, comment: name }));
  const digest = await pushBlob(name, config, ADMIN_USER, ADMIN_PASSWORD, base);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length },
    layers: [],
  });
  const res = await fetch(`${base}/v2/${name}/manifests/v1`, {
    method: 'PUT',
    headers: { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD), 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`manifest push to ${name}: HTTP ${res.status}: ${await res.text()}`);
}

/** Removes a blob's link from a repository (the bytes stay until GC). */
export async function unlinkBlob(name: string, digest: string, base = baseURL()): Promise<void> {
  const res = await fetch(`${base}/v2/${name}/blobs/${digest}`, {
    method: 'DELETE',
    headers: { Authorization: basic(ADMIN_USER, ADMIN_PASSWORD) },
  });
  if (res.status !== 202) throw new Error(`blob delete in ${name}: HTTP ${res.status}: ${await res.text()}`);
}

/** libfaketime (Debian's faketime, installed by .ci/deps.sh): moves a process's wall clock. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/**
 * Runs `work` against a second `berth serve` on the same installation whose
 * clock runs two days behind, so what it pushes is older than any grace
 * period; the server is stopped afterwards.
 */
export async function twoDaysAgo(work: (base: string) => Promise<void>): Promise<void> {
  if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: install Debian's faketime`);
  // Like every test server, it never updates the vulnerability database
  // (interval 0): it would try osv.dev and record the failures in the shared
  // data directory's sources.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: '-2d',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    BERTH_VULNDB_INTERVAL: '0',
  };
  delete env.BERTH_CONFIG;
  const server = spawn(berthBinary(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir()], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /Berth is listening on (\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      server.once('exit', (code) => reject(new Error(`the server two days behind exited (${code}): ${out}`)));
    });
    await work(base);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

/** `POST /v2/<name>/blobs/uploads/` as a user: the first step of every push. */
export async function startUpload(name: string, user: string, password: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${baseURL()}/v2/${name}/blobs/uploads/`, {
    method: 'POST',
    headers: { Authorization: basic(user, password) },
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = JSON.parse(text).errors?.[0]?.code;
  } catch {
    // A started upload answers with an empty body.
  }
  return { status: res.status, code };
}

/**
 * Every file the blob store holds (relative paths, sorted). Blobs are stored
 * encrypted, one object per blob and key, named by neither digest alone, so
 * tests compare the whole store rather than look for one digest's file.
 */
export function blobFiles(): string[] {
  const root = path.join(dataDir(), 'blobs');
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(path.relative(root, full));
    }
  };
  walk(root);
  return files.sort();
}

/** `berth fsck --json` (throws if it finds problems). */
export function fsck(): { blobs_checked: number; manifests_checked: number; problems: string[] } {
  return JSON.parse(berth(['fsck', '--json']));
}

/** Runs the AWS CLI against this server with a new access key of the admin; returns parsed JSON. */
export function aws(args: string[]): unknown {
  const key = JSON.parse(berth(['access-key', 'create', ADMIN_USER, '--json']));
  const cli = path.join(homedir(), '.cache', 'berth-tools', 'venv', 'bin', 'aws');
  const out = execFileSync(cli, [...args, '--endpoint-url', baseURL(), '--region', 'us-east-1', '--output', 'json'], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_PAGER: '',
    },
    encoding: 'utf8',
  });
  return out.trim() ? JSON.parse(out) : null;
}
