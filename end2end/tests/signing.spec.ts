/**
 * Managed signing in the console: an administrator makes a signing profile
 * on the settings page (a bad name is refused beside the field), downloads
 * the CA certificate from the link, sees the rule the ECR API set, and a
 * pushed image that the rule covers shows "Signed" on its page with a link to
 * its signature; a profile a rule names cannot be deleted, and once the rule
 * is gone it can.
 */
import { expect, test } from '@playwright/test';
import { X509Certificate } from 'node:crypto';
import { baseURL, hydrated, pushImage, screenshot, signedInContext, watchErrors } from './helpers';
import { aws, berth, unique } from './registry';

test('signing profiles, the CA download and an image signed on push', async ({ browser }, testInfo) => {
  const profile = `e2e_${unique().replace(/-/g, '_')}`;
  const repository = `signed-e2e/${unique()}`;
  const { context, page } = await signedInContext(browser);
  const errors = watchErrors(page);
  try {
    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    const section = page.getByRole('region', { name: 'Signing' });
    await expect(section).toBeVisible();

    // A name the ARN form cannot hold is refused by the server, beside the field.
    await section.getByTestId('signing-profile-name').evaluate((input: HTMLInputElement) => input.removeAttribute('pattern'));
    await section.getByTestId('signing-profile-name').fill('bad-name');
    await section.getByTestId('signing-profile-create').click();
    await expect(section.getByTestId('signing-name-error')).toContainText("2 to 64 letters, digits or '_'");

    await section.getByTestId('signing-profile-name').fill(profile);
    await section.getByTestId('signing-profile-create').click();
    const row = section.getByTestId('signing-profile').filter({ hasText: profile });
    await expect(row).toBeVisible();
    const arn = (await row.locator('code').first().textContent()) ?? '';
    expect(arn).toMatch(new RegExp(`^arn:aws:signer:us-east-1:\\d{12}:/signing-profiles/${profile}$`));
    // The CLI sees the same profile.
    const listed = JSON.parse(berth(['signing-key', 'list', '--json'])) as { name: string; signingProfileArn: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ name: profile, signingProfileArn: arn }));

    // The CA certificate link downloads the certificate the CLI prints.
    const href = await section.getByTestId('signing-ca-download').getAttribute('href');
    const download = await page.request.get(`${baseURL()}${href}`);
    expect(download.status()).toBe(200);
    const pem = await download.text();
    expect(pem).toBe(berth(['signing-key', 'ca']));
    expect(new X509Certificate(pem).ca).toBe(true);

    // A rule set through the ECR API shows here.
    aws(['ecr', 'put-signing-configuration', '--signing-configuration', JSON.stringify({
      rules: [{ signingProfileArn: arn, repositoryFilters: [{ filter: 'signed-e2e/*', filterType: 'WILDCARD_MATCH' }] }],
    })]);
    await page.reload();
    await expect(section.getByTestId('signing-rule')).toHaveText(`Signs repositories matching signed-e2e/* with ${arn}`);
    await screenshot(page, testInfo, 'signing-settings');

    // A push the rule covers is signed in the background; its page says so.
    const digest = await pushImage(repository, 'v1', 'signed');
    await expect(async () => {
      await page.goto(`${baseURL()}/image/${repository}?digest=${encodeURIComponent(digest)}`);
      await expect(page.getByTestId('image-signing-status')).toContainText(`${arn}: Signed`, { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await screenshot(page, testInfo, 'image-signed');
    await page.getByTestId('image-signing-status').getByRole('link').click();
    await expect(page.getByTestId('image-title')).toBeVisible();
    await expect(page.getByText('application/vnd.cncf.notary.signature').first()).toBeVisible();
    // The signature itself is not signed.
    await expect(page.getByTestId('image-signing-none')).toBeVisible();

    // A profile a rule names cannot be deleted; without the rule it can.
    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    await row.getByRole('button', { name: `Delete signing profile ${profile}` }).click();
    await expect(section.getByTestId('signing-delete-error')).toContainText('is used by rule 0 of the signing configuration');
    aws(['ecr', 'delete-signing-configuration']);
    await page.reload();
    await hydrated(page);
    await expect(section.getByTestId('signing-rules')).toContainText('No signing configuration is set, so no image is signed.');
    await row.getByRole('button', { name: `Delete signing profile ${profile}` }).click();
    await expect(row).toHaveCount(0);
    // Refused calls answer with an error status, which Chromium logs; nothing else may appear.
    expect(errors.filter((e) => !e.includes('Failed to load resource')), 'uncaught errors in the page').toEqual([]);
  } finally {
    try {
      aws(['ecr', 'delete-signing-configuration']);
    } catch {
      // already deleted
    }
    await context.close();
  }
});
