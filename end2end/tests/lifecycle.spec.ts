import { expect, test } from '@playwright/test';
import { accessKey, awsEcr, baseURL, hydrated, pushImage, screenshot, signIn, watchErrors } from './helpers';

const REPO = 'e2e/lifecycle';

test('lifecycle rules: build, dry run in the browser, confirm on the server, apply, run, history', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  // Oldest first: push times order the images.
  const pushed: Record<string, string> = {};
  for (const [tag, label] of [
    ['prod-1', 'a'], ['prod-2', 'b'], ['prod-3', 'c'],
    ['dev-1', 'd'], ['dev-2', 'e'],
    [null, 'f'], [null, 'g'],
  ] as const) {
    pushed[tag ?? label] = await pushImage(REPO, tag, label);
    await new Promise((r) => setTimeout(r, 20));
  }

  await signIn(page, undefined, undefined, `/repositories/${REPO}?tab=lifecycle`);
  await hydrated(page);
  await expect(page.getByTestId('no-rules')).toBeVisible();
  await expect(page.getByTestId('no-history')).toBeVisible();

  // Rule 1: keep the 2 newest prod-* images. Built with the rule builder (the server adds it and tests).
  await page.getByLabel('Rule priority').fill('1');
  await page.getByLabel('Rule description').fill('keep two prod images');
  await page.getByLabel('Image status').selectOption('tagged-prefix');
  await page.getByLabel('Tag patterns or prefixes').fill('prod');
  await page.getByLabel('Match criteria').selectOption('imageCountMoreThan');
  await page.getByLabel('Count', { exact: true }).fill('2');
  await page.getByTestId('add-rule').click();
  await expect(page.getByTestId('rules').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('server-summary')).toContainText('1 of 7 images would expire');

  // Rule 2: untagged images, keep 1. A bad count first: the error sits beside it.
  await page.getByLabel('Rule priority').fill('2');
  await page.getByLabel('Rule description').fill('');
  await page.getByLabel('Image status').selectOption('untagged');
  await page.getByLabel('Count', { exact: true }).fill('0');
  await page.getByTestId('add-rule').click();
  await expect(page.locator('#rule-count-error')).toHaveText('The count must be a whole number, 1 or more.');
  await page.getByLabel('Count', { exact: true }).fill('1');
  await page.getByTestId('add-rule').click();
  await expect(page.getByTestId('rules').locator('tbody tr')).toHaveCount(2);

  // The browser's dry run and the server's preview agree on the expected set.
  const expired = async (table: string) =>
    (await page.getByTestId(table).locator('[data-testid=decision][data-expire=true] [data-testid=decision-image]').allTextContents())
      .map((t) => t.trim()).sort();
  const expected = ['prod-1', pushed['f'].slice(0, 'sha256:'.length + 12)].sort();
  await expect(page.getByTestId('server-summary')).toContainText('2 of 7 images would expire. It agrees with the dry run above.');
  expect(await expired('live-results')).toEqual(expected);
  expect(await expired('server-results')).toEqual(expected);
  // Kept images name the rule that protected them.
  const prod3 = page.getByTestId('live-results').locator('[data-testid=decision]', { hasText: 'prod-3' });
  await expect(prod3).toContainText('Keep: retained by rule 1');
  await expect(prod3.getByTestId('decision-rule')).toHaveText('1');
  const dev1 = page.getByTestId('live-results').locator('[data-testid=decision]', { hasText: 'dev-1' });
  await expect(dev1.getByTestId('decision-rule')).toHaveText('—');
  await page.getByRole('heading', { name: 'Dry run' }).scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, -120));
  await screenshot(page, testInfo, 'lifecycle-dry-run');

  // Editing the JSON re-evaluates at once in the browser; a broken policy says why.
  const policy = page.getByTestId('policy-text');
  const good = await policy.inputValue();
  await policy.fill(good.replace('"countNumber": 2', '"countNumber": 0'));
  await expect(page.getByTestId('live-error')).toContainText('countNumber');
  await page.getByTestId('run-test').click();
  await expect(page.getByTestId('policy-error')).toContainText('countNumber');
  await policy.fill(good);
  await expect(page.getByTestId('live-error')).toHaveCount(0);

  // Nothing was deleted by the dry runs.
  await page.goto(`${baseURL()}/repositories/${REPO}`);
  await expect(page.getByTestId('image-row')).toHaveCount(7);

  // Apply, run, and the two images are gone and in the history.
  await page.goto(`${baseURL()}/repositories/${REPO}?tab=lifecycle`);
  await hydrated(page);
  await expect(page.getByTestId('rules').locator('tbody tr')).toHaveCount(2);
  await page.getByTestId('apply-policy').click();
  await expect(page.getByTestId('applied')).toBeVisible();
  // The ECR API returns what the console saved, and the console's test run as the preview.
  const key = accessKey();
  const saved = awsEcr(key, ['get-lifecycle-policy', '--repository-name', REPO]) as { lifecyclePolicyText: string };
  expect(JSON.parse(saved.lifecyclePolicyText)).toEqual(JSON.parse(good));
  const preview = awsEcr(key, ['get-lifecycle-policy-preview', '--repository-name', REPO]) as { status: string };
  expect(preview.status).toBe('COMPLETE');
  await page.getByTestId('run-now').click();
  await expect(page.getByTestId('ran')).toHaveText('The lifecycle policy expired 2 images.');
  await expect(page.getByTestId('history').locator('tbody tr')).toHaveCount(2);
  await page.goto(`${baseURL()}/repositories/${REPO}`);
  await expect(page.getByTestId('image-row')).toHaveCount(5);
  await expect(page.getByTestId('image-tags')).not.toContainText(['prod-1']);
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});
