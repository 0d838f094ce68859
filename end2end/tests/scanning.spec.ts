/**
 * Scanning in the console: the vulnerability database's status and "Update
 * now" run against a second server on the same installation whose source is
 * a loopback HTTP server this test runs (failing first, then serving an
 * export of real OSV records).
 */
import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, ADMIN_USER, hydrated, recordSecret, screenshot, watchErrors } from './helpers';
import { berth, berthBinary, dataDir } from './registry';

/** Real OSV records, copied from osv.dev's test data (see their README). */
const RECORDS = path.resolve(__dirname, '..', '..', 'server', 'tests', 'vulndb', 'records');

/** The real records as a zip laid out like osv.dev's all.zip (one <id>.json each). */
function recordsZip(): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-osv-'));
  try {
    const zip = path.join(dir, 'all.zip');
    execFileSync('python3', ['-c', `
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(src)):
        if name.endswith('.json'):
            z.write(os.path.join(src, name), name)
`, RECORDS, zip]);
    return readFileSync(zip);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A second `berth serve` on the same installation, with these settings. */
async function startServer(env: Record<string, string>): Promise<{ base: string; server: ChildProcess }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.BERTH_CONFIG;
  const server = spawn(berthBinary(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir()], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Berth is listening on (\S+)/.exec(out);
      if (match) resolve(match[1].replace(/\/+$/, ''));
    });
    server.once('exit', (code) => reject(new Error(`the second server exited (${code}): ${out}`)));
  });
  return { base, server };
}

async function signInAt(page: Page, base: string, next: string): Promise<void> {
  recordSecret(ADMIN_PASSWORD);
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(ADMIN_USER);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-user')).toHaveText(ADMIN_USER);
}

test('the vulnerability database: status per source, and Update now failing then succeeding', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  // The source: a loopback HTTP server that fails until told to serve the export.
  let serving = false;
  const zip = recordsZip();
  const source: Server = createServer((req, res) => {
    if (!serving) {
      res.writeHead(500).end('not today');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': zip.length, ETag: '"e2e-1"' }).end(zip);
  });
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(source.address() as AddressInfo).port}/osv/all.zip`;
  const { base, server } = await startServer({ BERTH_VULNDB_SOURCES: url, BERTH_VULNDB_INTERVAL: '0' });
  try {
    await signInAt(page, base, '/settings');
    await hydrated(page);
    await expect(page.getByTestId('vulndb-schedule')).toContainText('Periodic updates are off');
    const row = page.getByTestId('vulndb-source').filter({ has: page.getByTestId('vulndb-source-name').getByText(url, { exact: true }) });
    await expect(row).toContainText('(configured)');
    await expect(row.getByTestId('vulndb-records')).toHaveText('0');

    // A failing source: the error is shown, on the run and on the source.
    await page.getByTestId('vulndb-update').click();
    await expect(page.getByTestId('vulndb-result')).toContainText('HTTP 500', { timeout: 30_000 });
    await expect(page.getByTestId('vulndb-result')).toContainText('The previous records stay in service.');
    await expect(row.getByTestId('vulndb-error')).toContainText('HTTP 500');
    await screenshot(page, testInfo, 'vulndb-failed');

    // Now the export is there: progress, then the records.
    serving = true;
    await page.getByTestId('vulndb-update').click();
    await expect(page.getByTestId('vulndb-result')).toContainText(/Imported \d+ records/, { timeout: 30_000 });
    await expect(row.getByTestId('vulndb-records')).not.toHaveText('0');
    await expect(row.getByTestId('vulndb-error')).toHaveText('none');
    await expect(page.getByTestId('vulndb-updated')).toHaveText(/ UTC$/);
    await expect(page.getByTestId('vulndb-update')).toBeEnabled();
    await screenshot(page, testInfo, 'vulndb');
    // What `berth vulndb status` says is what the page showed.
    const status = JSON.parse(berth(['vulndb', 'status', '--json'], { BERTH_VULNDB_SOURCES: url }));
    expect(JSON.stringify(status)).toContain(url);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    source.close();
  }
  expect(errors.filter((e) => !e.includes('status of 4'))).toEqual([]);
});
