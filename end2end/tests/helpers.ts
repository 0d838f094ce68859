/**
 * Shared pieces of the browser tests: the server's URL (set by
 * global-setup.ts), signing in, waiting for hydration, collecting page errors,
 * and screenshots of the main pages.
 */
import { expect, type Browser, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';

export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'e2e-password';
/** Set up by global-setup.ts through the registry API. */
export const SEEDED = ['team-a/web-app', 'team-a/worker', 'tools/builder'];

export function baseURL(): string {
  const url = process.env.BERTH_E2E_URL;
  if (!url) throw new Error('BERTH_E2E_URL is not set: global-setup.ts did not run');
  return url;
}

/** The registry's host:port, as docker names it. */
export function registryHost(): string {
  return new URL(baseURL()).host;
}

/** Records uncaught errors and console errors of a page (hydration failures show only there). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console error: ${msg.text()}`);
  });
  return errors;
}

/**
 * Notes a secret the tests know, when BERTH_TEST_LOG_DIR asks for them:
 * .ci/secrets-grep.sh fails the run if any appears in the server's log.
 */
export function recordSecret(secret: string): void {
  const dir = process.env.BERTH_TEST_LOG_DIR;
  if (dir && secret) appendFileSync(path.join(dir, 'secrets'), `${secret}\n`);
}

/** Signs in through the form and waits for the page it leads to. */
export async function signIn(page: Page, user = ADMIN_USER, password = ADMIN_PASSWORD, next = '/'): Promise<void> {
  recordSecret(password);
  await page.goto(`${baseURL()}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-user')).toHaveText(user);
}

/** A fresh browser context (own cookies), signed in; JavaScript on or off. */
export async function signedInContext(
  browser: Browser,
  options: { javaScriptEnabled?: boolean; user?: string; password?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true });
  const page = await context.newPage();
  await signIn(page, options.user ?? ADMIN_USER, options.password ?? ADMIN_PASSWORD);
  return { context, page };
}

/** Waits until the wasm bundle has loaded and hydrated the page. */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.locator('body[data-hydrated=true]').waitFor({ state: 'attached' });
}

/**
 * Saves a screenshot of the page as `name`.png in the test's output folder,
 * and also under end2end/screenshots/ when BERTH_SCREENSHOTS is set (to
 * refresh the README's pictures).
 */
export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  if (process.env.BERTH_SCREENSHOTS) {
    await page.screenshot({ path: path.resolve(__dirname, '..', 'screenshots', `${name}.png`) });
  }
}

/**
 * Pushes a one-config-blob image through the registry API, tagged or (tag
 * null) by digest; returns its digest. With `subject` (and `artifactType`) it
 * is an artifact that refers to that image, as a signature or an SBOM does.
 */
export async function pushImage(
  repository: string,
  tag: string | null,
  label: string,
  refers?: { subject: string; artifactType: string },
): Promise<string> {
  const { createHash } = await import('node:crypto');
  const auth = 'Basic ' + Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, comment: label }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const upload = await fetch(`${baseURL()}/v2/${repository}/blobs/uploads/?digest=${configDigest}`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
    body: config,
  });
  expect(upload.status, await upload.text()).toBe(201);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [],
    ...(refers
      ? {
          artifactType: refers.artifactType,
          subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: refers.subject, size: await manifestSize(repository, refers.subject) },
        }
      : {}),
  }));
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const put = await fetch(`${baseURL()}/v2/${repository}/manifests/${tag ?? digest}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  expect(put.status, await put.text()).toBe(201);
  return digest;
}

/** The tools cache that `make test` fills (the AWS CLI venv lives there). */
export const TOOLS = process.env.BERTH_TOOLS ?? path.join(process.env.HOME ?? '/root', '.cache', 'berth-tools');

/** An access key for `user`, made with the berth CLI on the test server's data dir. */
export function accessKey(user = ADMIN_USER): { id: string; secret: string } {
  const out = execFileSync(
    process.env.BERTH_E2E_BIN!,
    ['access-key', 'create', user, '--json', '--data-dir', process.env.BERTH_E2E_DATA_DIR!],
    { encoding: 'utf8' },
  );
  const key = JSON.parse(out);
  recordSecret(key.secretAccessKey);
  return { id: key.accessKeyId, secret: key.secretAccessKey };
}

/** Runs `aws ecr <args>` (the real AWS CLI) against the test server with `key`; returns its parsed JSON output. */
export function awsEcr(key: { id: string; secret: string }, args: string[]): unknown {
  const out = execFileSync(
    path.join(TOOLS, 'venv', 'bin', 'aws'),
    ['ecr', ...args, '--endpoint-url', baseURL(), '--region', 'us-east-1', '--output', 'json'],
    {
      encoding: 'utf8',
      env: { ...process.env, AWS_ACCESS_KEY_ID: key.id, AWS_SECRET_ACCESS_KEY: key.secret, AWS_EC2_METADATA_DISABLED: 'true' },
    },
  );
  return out.trim() ? JSON.parse(out) : null;
}

async function manifestSize(repository: string, digest: string): Promise<number> {
  const auth = 'Basic ' + Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64');
  const res = await fetch(`${baseURL()}/v2/${repository}/manifests/${digest}`, {
    method: 'HEAD',
    headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(res.status).toBe(200);
  return Number(res.headers.get('content-length'));
}
