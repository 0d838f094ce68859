/**
 * Registry settings: only administrators reach them; the scanning
 * configuration saved in the console is what the ECR API returns (and the
 * reverse); the registry policy uses the repository's editor; the GC dry run
 * shows a report, with progress while it runs, and changes nothing.
 */
import { expect, test } from '@playwright/test';
import { ADMIN_PASSWORD, ADMIN_USER, baseURL, hydrated, screenshot, signedInContext, watchErrors } from './helpers';
import { aws, blobFiles, createPowerUser, fsck, pushBlob, pushImage, twoDaysAgo, unique, unlinkBlob } from './registry';

test('only administrators find and open the registry settings', async ({ browser }) => {
  const user = `dev-${unique()}`;
  createPowerUser(user, 'e2e-dev-password-1');
  const { context, page } = await signedInContext(browser, { user, password: 'e2e-dev-password-1' });
  try {
    await expect(page.getByTestId('nav-settings')).toHaveCount(0);
    await page.goto(`${baseURL()}/settings`);
    await expect(page.getByRole('alert')).toHaveText('Only administrators can see and change registry settings.');
    await expect(page.getByTestId('scanning-form')).toHaveCount(0);
  } finally {
    await context.close();
  }

  const admin = await signedInContext(browser);
  try {
    await admin.page.getByTestId('nav-settings').click();
    await expect(admin.page).toHaveURL(/\/settings$/);
    await expect(admin.page.getByRole('heading', { name: 'Registry settings' })).toBeVisible();
  } finally {
    await admin.context.close();
  }
});

test('the scanning configuration saved in the console is what the ECR API returns', async ({ browser }) => {
  const { context, page } = await signedInContext(browser);
  const errors = watchErrors(page);
  try {
    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    const form = page.getByTestId('scanning-form');
    await form.getByLabel(/^Enhanced/).check();
    const rule1 = page.getByTestId('scan-rule-1');
    const rule2 = page.getByTestId('scan-rule-2');
    await rule1.getByLabel('Scan frequency').selectOption('CONTINUOUS_SCAN');
    await rule1.getByLabel('Repository filters').fill('Team-A/*');
    await rule2.getByLabel('Scan frequency').selectOption('SCAN_ON_PUSH');
    await rule2.getByLabel('Repository filters').fill('tools/*');
    await page.getByTestId('save-scanning').click();
    await expect(page.locator('#rule1_filters-error')).toContainText('"Team-A/*" must be a WILDCARD of lowercase letters');

    await rule1.getByLabel('Repository filters').fill('team-a/*\nteam-b/*');
    await page.getByTestId('save-scanning').click();
    await expect(page.getByTestId('scanning-saved')).toBeVisible();
    await expect(page.locator('#rule1_filters-error')).toBeHidden();

    const got = aws(['ecr', 'get-registry-scanning-configuration']) as { scanningConfiguration: unknown };
    expect(got.scanningConfiguration).toEqual({
      scanType: 'ENHANCED',
      rules: [
        {
          scanFrequency: 'CONTINUOUS_SCAN',
          repositoryFilters: [
            { filter: 'team-a/*', filterType: 'WILDCARD' },
            { filter: 'team-b/*', filterType: 'WILDCARD' },
          ],
        },
        { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'tools/*', filterType: 'WILDCARD' }] },
      ],
    });

    // And the other way: what the ECR API sets is what the console shows.
    aws(['ecr', 'put-registry-scanning-configuration', '--scan-type', 'BASIC', '--rules',
      JSON.stringify([{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'perms/*', filterType: 'WILDCARD' }] }])]);
    await page.goto(`${baseURL()}/settings`);
    await expect(form.getByLabel(/^Basic/)).toBeChecked();
    await expect(rule1.getByLabel('Repository filters')).toHaveValue('perms/*');
    await expect(rule2.getByLabel('Repository filters')).toHaveValue('');
    // The refused save answers with an error status, which Chromium logs; nothing else may appear.
    expect(errors.filter((e) => !e.includes('Failed to load resource')), 'uncaught errors in the page').toEqual([]);
  } finally {
    await context.close();
  }
});

test('the registry policy is edited with the same editor, and deleted', async ({ browser }) => {
  const { context, page } = await signedInContext(browser);
  try {
    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    await expect(page.getByTestId('no-policy')).toBeVisible();
    // A deny for a user that does not exist: harmless to the other tests.
    const nobody = `nobody-${unique()}`;
    await page.getByLabel('Sid (optional)').fill('DenyNobody');
    await page.getByLabel('Deny', { exact: true }).check();
    await page.getByLabel('Principal', { exact: true }).fill(nobody);
    await page.getByLabel('ecr:BatchDeleteImage', { exact: true }).check();
    await page.getByTestId('add-statement').click();
    await page.getByTestId('save-policy').click();
    await expect(page.getByTestId('policy-notice')).toHaveText('Policy saved.');

    const got = aws(['ecr', 'get-registry-policy']) as { policyText: string };
    expect(JSON.parse(got.policyText).Statement[0]).toMatchObject({ Sid: 'DenyNobody', Effect: 'Deny', Action: 'ecr:BatchDeleteImage' });

    await page.getByTestId('delete-policy').click();
    await expect(page.getByTestId('policy-notice')).toHaveText('Policy deleted.');
    await page.goto(`${baseURL()}/settings`);
    await expect(page.getByTestId('no-policy')).toBeVisible();
  } finally {
    await context.close();
  }
});

test('the GC dry run shows its progress and report, and changes nothing', async ({ browser }, testInfo) => {
  // Garbage older than the grace period: pushed two days ago (by a second
  // server of the installation, its clock moved), its only link then removed.
  const name = `gc/dry-${unique()}`;
  let orphan = '';
  await twoDaysAgo(async (base) => {
    await pushImage(name, base);
    orphan = await pushBlob(name, Buffer.from(`garbage for ${name}`), ADMIN_USER, ADMIN_PASSWORD, base);
    await unlinkBlob(name, orphan, base);
  });
  const before = fsck();
  const filesBefore = blobFiles();

  const { context, page } = await signedInContext(browser);
  const errors = watchErrors(page);
  try {
    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    await expect(page.getByTestId('create-on-push')).toContainText('On');
    await expect(page.getByTestId('gc-interval')).toHaveText('1 h');
    await expect(page.getByTestId('gc-grace')).toHaveText('1 h');
    await expect(page.getByTestId('gc-last-run')).toContainText('No collection has run since the server started');

    // Hold the answer back a moment, so the progress can be seen.
    await page.route('**/api/gc_dry_run', async (route) => {
      await new Promise((r) => setTimeout(r, 1_000));
      await route.continue();
    });
    await page.getByTestId('gc-dry-run').click();
    await expect(page.getByTestId('gc-progress')).toBeVisible();
    await expect(page.getByTestId('gc-dry-run')).toBeDisabled();
    const report = page.getByTestId('gc-dry-run-report');
    await expect(report.getByTestId('gc-summary')).toContainText(/Would delete [1-9]\d* blob\(s\)/);
    await expect(report).toContainText(orphan.slice(0, 'sha256:'.length + 12));
    await expect(page.getByTestId('gc-progress')).toHaveCount(0);
    await screenshot(page, testInfo, 'settings');

    expect(blobFiles(), 'the dry run deleted no bytes: the orphan and every other stored file are all still there').toEqual(filesBefore);
    const after = fsck();
    expect(after.problems).toEqual([]);
    expect(after.blobs_checked, 'no blob row was removed').toBe(before.blobs_checked);
    expect(after.manifests_checked).toBe(before.manifests_checked);
    expect(errors, 'uncaught errors in the page').toEqual([]);
  } finally {
    await context.close();
  }
});

test('with JavaScript off, the dry run and the scanning form work', async ({ browser }) => {
  const { context, page } = await signedInContext(browser, { javaScriptEnabled: false });
  try {
    await page.goto(`${baseURL()}/settings`);
    await page.getByTestId('gc-dry-run').click();
    await expect(page.getByTestId('gc-dry-run-report').getByTestId('gc-summary')).toContainText('Would delete');

    await page.getByTestId('scan-rule-2').getByLabel('Repository filters').fill('Bad Filter');
    await page.getByTestId('save-scanning').click();
    await expect(page.locator('#rule2_filters-error')).toContainText('"Bad Filter" must be a WILDCARD');
  } finally {
    await context.close();
  }
});
