/**
 * Scanning in the console: an image made of this machine's own os-release
 * and dpkg database is pushed into a repository that scans on push; the scan
 * status column, the findings section (chart, sort, filter), the SBOM
 * download and "Scan now" show what the scan found. The vulnerability
 * database's status and "Update now" run against a second server on the
 * same installation whose source is a loopback HTTP server this test runs
 * (failing first, then serving an export of real OSV records).
 */
import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, ADMIN_USER, baseURL, hydrated, recordSecret, screenshot, signIn, watchErrors } from './helpers';
import { berth, berthBinary, dataDir, pushBlob, unique } from './registry';

/** Real OSV records, copied from osv.dev's test data (see their README). */
const RECORDS = path.resolve(__dirname, '..', '..', 'server', 'tests', 'vulndb', 'records');

const auth = 'Basic ' + Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64');
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Real OSV records for the packages the test image holds (see tests/osv/README.md). */
const IMAGE_RECORDS = path.resolve(__dirname, 'osv');

/** A Python distribution's installed METADATA (core metadata, as pip writes it). */
const metadata = (name: string, version: string) =>
  `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: ${name}\n\n`;

/**
 * Pushes an image whose one layer holds this machine's /etc/os-release and
 * /var/lib/dpkg/status (followed through symlinks, as the container would
 * see them), three installed Python distributions and a log4j-core jar with
 * Maven's pom.properties, tagged `tag`; returns its digest.
 */
async function pushMachineImage(repository: string, tag: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-scan-'));
  try {
    const root = path.join(dir, 'root');
    const site = path.join(root, 'usr', 'lib', 'python3', 'dist-packages');
    for (const [name, version] of [['requests', '2.30.0'], ['py', '1.10.0'], ['cryptography', '3.2']]) {
      mkdirSync(path.join(site, `${name}-${version}.dist-info`), { recursive: true });
      writeFileSync(path.join(site, `${name}-${version}.dist-info`, 'METADATA'), metadata(name, version));
    }
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    mkdirSync(path.join(root, 'var', 'lib', 'dpkg'), { recursive: true });
    mkdirSync(path.join(root, 'opt', 'app', 'lib'), { recursive: true });
    copyFileSync('/etc/os-release', path.join(root, 'etc', 'os-release'));
    copyFileSync('/var/lib/dpkg/status', path.join(root, 'var', 'lib', 'dpkg', 'status'));
    execFileSync('python3', ['-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as jar:
    jar.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\r\\n\\r\\n')
    jar.writestr('META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties',
                 '#Created by Apache Maven 3.6.3\\nversion=2.14.1\\ngroupId=org.apache.logging.log4j\\nartifactId=log4j-core\\n')
`, path.join(root, 'opt', 'app', 'lib', 'log4j-core-2.14.1.jar')]);
    const tarFile = path.join(dir, 'layer.tar');
    execFileSync('tar', ['--create', '--file', tarFile, '--directory', root, 'etc', 'var', 'usr', 'opt']);
    const tar = readFileSync(tarFile);
    execFileSync('gzip', ['--keep', '--no-name', tarFile]);
    const layer = readFileSync(`${tarFile}.gz`);
    const layerDigest = await pushBlob(repository, layer);
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }));
    const configDigest = await pushBlob(repository, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }));
    const put = await fetch(`${baseURL()}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status, await put.text()).toBe(201);
    return sha256(manifest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

test('scanning: the status column, the findings section, the SBOM and Scan now', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const repository = `e2e/scanned-${unique()}`;
  // The advisories: real OSV records, imported with the CLI as an air-gapped site does.
  berth(['vulndb', 'import', IMAGE_RECORDS]);
  await signIn(page, undefined, undefined, '/create-repository');
  await hydrated(page);
  await expect(page.getByTestId('scanning-scope')).toContainText('does not look for secrets, malware or misconfiguration');
  await page.getByLabel('Repository name').fill(repository);
  await page.getByLabel(/Scan on push/).check();
  await page.getByTestId('create-submit').click();
  await expect(page).toHaveURL(new RegExp(`/repositories/${repository}`));

  const digest = await pushMachineImage(repository, 'v1');
  await page.goto(`${baseURL()}/repositories/${repository}`);
  // Scan on push: the column follows the scan to its end, in words.
  const tagged = page.getByTestId('image-row').filter({ has: page.getByTestId('image-tags').getByText('v1', { exact: true }) });
  await expect(async () => {
    await page.reload();
    await expect(tagged.getByTestId('scan-status')).toHaveText('Complete — 1 critical, 2 medium', { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await screenshot(page, testInfo, 'scan-status');

  // The findings section of the image page.
  await page.goto(`${baseURL()}/image/${repository}?digest=${encodeURIComponent(digest)}&tab=findings`);
  await hydrated(page);
  await expect(page.getByTestId('scan-status-text')).toHaveText('Complete — 1 critical, 2 medium');
  await expect(page.getByTestId('scan-completed')).toHaveText(/ UTC$/);
  await expect(page.getByTestId('scan-database-updated')).toHaveText(/ UTC$/);
  const chart = page.getByTestId('severity-chart');
  await expect(chart).toContainText('Findings per severity (3 in all)');
  await expect(chart.locator('[data-severity=CRITICAL] .count')).toHaveText('1');
  await expect(chart.locator('[data-severity=MEDIUM] .count')).toHaveText('2');
  await expect(chart.locator('[data-severity=HIGH] .count')).toHaveText('0');
  // Most severe first; the withdrawn record found nothing.
  await expect(page.getByTestId('finding-name')).toHaveCount(3);
  await expect(page.getByTestId('finding-severity')).toHaveText(['CRITICAL', 'MEDIUM', 'MEDIUM']);
  const log4shell = page.getByTestId('finding-row').filter({ hasText: 'CVE-2021-44228' });
  await expect(log4shell.getByTestId('finding-fixed')).toHaveText('2.15.0');
  await expect(log4shell.getByTestId('finding-link')).toHaveAttribute('href', /^https:\/\//);
  await expect(page.getByTestId('findings')).not.toContainText('cryptography');
  await screenshot(page, testInfo, 'findings');

  // Sorting by package; filtering by severity, package name and fix availability.
  await page.getByTestId('sort-package').click();
  await expect(page).toHaveURL(/sort=package/);
  const packages = await page.getByTestId('finding-package').allTextContents();
  expect(packages).toEqual(['org.apache.logging.log4j:log4j-core', 'py', 'requests']);
  await page.getByTestId('filter-severity').selectOption('CRITICAL');
  await page.getByTestId('apply-filter').click();
  await expect(page.getByTestId('finding-name')).toHaveText([/CVE-2021-44228/]);
  await page.getByTestId('filter-severity').selectOption('');
  await page.getByTestId('filter-fixable').check();
  await page.getByTestId('apply-filter').click();
  await expect(page).toHaveURL(/fixable=1/);
  await expect(page.getByTestId('finding-row')).toHaveCount(2);
  await expect(page.getByTestId('finding-fixed')).not.toContainText(['no fix']);
  await page.getByTestId('filter-fixable').uncheck();
  await page.getByTestId('filter-package').fill('REQUESTS');
  await page.getByTestId('apply-filter').click();
  await expect(page.getByTestId('finding-name')).toHaveText([/CVE-2023-32681/]);
  await expect(page.getByTestId('findings-count')).toHaveText('Showing 1 of 3 findings.');

  // The SBOM: a CycloneDX document about this image, saved as a file.
  const href = await page.getByTestId('sbom-download').getAttribute('href');
  const sbom = await page.request.get(`${baseURL()}${href}`);
  expect(sbom.status()).toBe(200);
  expect(sbom.headers()['content-disposition']).toMatch(/^attachment; filename=".+\.cdx\.json"$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('sbom-download').click()]);
  expect(download.suggestedFilename()).toMatch(/\.cdx\.json$/);
  const document = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  expect(document.bomFormat).toBe('CycloneDX');
  const text = JSON.stringify(document);
  expect(text).toContain('pkg:deb/debian/');
  expect(text).toContain('pkg:pypi/requests@2.30.0');

  // Scan now: queued, then complete again with the same findings.
  await page.getByTestId('scan-now').click();
  await expect(page.getByTestId('scan-status-text')).toHaveText('Complete — 1 critical, 2 medium', { timeout: 30_000 });
  expect(errors).toEqual([]);
});

test('scanning: an image nobody scanned says so, and Scan now needs ecr:StartImageScan', async ({ page }) => {
  const repository = `e2e/unscanned-${unique()}`;
  const digest = await pushMachineImage(repository, 'v1');
  await signIn(page, undefined, undefined, `/repositories/${repository}`);
  await expect(page.getByTestId('scan-status')).toHaveText('Not scanned');
  await page.goto(`${baseURL()}/image/${repository}?digest=${encodeURIComponent(digest)}`);
  await hydrated(page);
  await expect(page.getByTestId('scan-status-text')).toHaveText('Not scanned');
  await expect(page.getByTestId('sbom-download')).toHaveCount(0);

  // A user whose policy denies ecr:StartImageScan is refused by the server.
  const user = `reader-${unique()}`;
  const password = 'e2e-reader-password-1';
  berth(['user', 'create', user, '--policy', 'AmazonEC2ContainerRegistryReadOnly'], { BERTH_USER_PASSWORD: password });
  const context = await page.context().browser()!.newContext();
  const reader = await context.newPage();
  try {
    await signIn(reader, user, password, `/image/${repository}?digest=${encodeURIComponent(digest)}`);
    await hydrated(reader);
    await reader.getByTestId('scan-now').click();
    await expect(reader.getByRole('alert')).toContainText('ecr:StartImageScan');
    await expect(reader.getByTestId('scan-status-text')).toHaveText('Not scanned');
  } finally {
    await context.close();
  }
});

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
    await expect(page.getByTestId('vulndb-result')).toContainText('It had no records in service before, and none were added.');
    await expect(page.getByTestId('vulndb-result')).not.toContainText('stay in service');
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
