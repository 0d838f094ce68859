import { expect, test } from '@playwright/test';
import { baseURL, hydrated, pushImage, screenshot, signIn, watchErrors } from './helpers';

const REPO = 'e2e/images';
const SIGNATURE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

test('images: details with referrers, the tagged/untagged filter, and delete', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const app = await pushImage(REPO, 'v1', 'app');
  await pushImage(REPO, null, 'signature', { subject: app, artifactType: SIGNATURE });
  await pushImage(REPO, null, 'loose');

  await signIn(page, undefined, undefined, `/repositories/${REPO}`);
  await expect(page.getByTestId('image-row')).toHaveCount(3);

  // The image page lists the signature that refers to it, and its manifest.
  const tagged = page.getByTestId('image-row').filter({ has: page.getByTestId('image-tags').getByText('v1', { exact: true }) });
  await tagged.locator('a').first().click();
  await expect(page.getByTestId('image-title')).toHaveText('v1');
  await expect(page.getByTestId('image-digest')).toHaveText(app);
  const referrers = page.getByTestId('referrer-row');
  await expect(referrers).toHaveCount(1);
  await expect(referrers).toContainText(SIGNATURE);
  await page.getByText('Manifest', { exact: true }).click();
  await expect(page.getByTestId('manifest')).toContainText('"schemaVersion": 2');
  await screenshot(page, testInfo, 'image');
  // The signature's page points back at its subject.
  await referrers.locator('a').click();
  await expect(page.getByText('Refers to')).toBeVisible();

  // Untagged images only; delete one of them.
  await page.goto(`${baseURL()}/repositories/${REPO}?tab=images&status=untagged`);
  await hydrated(page);
  await expect(page.getByTestId('image-row')).toHaveCount(2);
  await expect(page.getByTestId('image-tags')).toHaveText(['untagged', 'untagged']);
  await page.goto(`${baseURL()}/repositories/${REPO}?tab=images&status=tagged`);
  await expect(page.getByTestId('image-row')).toHaveCount(1);

  await page.goto(`${baseURL()}/repositories/${REPO}?tab=images&status=untagged`);
  await hydrated(page);
  const loose = page.getByTestId('image-row').filter({ hasNotText: 'cosign' }).last();
  await loose.getByRole('checkbox').check();
  await page.getByTestId('delete-images').click();
  await expect(page.getByRole('status')).toHaveText('Deleted 1 images.');
  await expect(page.getByTestId('image-row')).toHaveCount(1);
  // The remaining image is not ticked: nothing selected is refused, and it stays.
  await expect(page.getByTestId('image-row').getByRole('checkbox')).not.toBeChecked();
  await page.getByTestId('delete-images').click();
  await expect(page.locator('.field-error')).toHaveText('Select at least one image.');
  await expect(page.getByTestId('image-row')).toHaveCount(1);
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});
