import { expect, test } from '@playwright/test';
import path from 'node:path';

// Set by global-setup.ts, which starts the server and pushes these repositories.
const REPOSITORIES = ['team-a/web-app', 'team-a/worker', 'tools/builder'];

function baseURL(): string {
  const url = process.env.BERTH_E2E_URL;
  if (!url) throw new Error('BERTH_E2E_URL is not set: global-setup.ts did not run');
  return url;
}

const ROW = '[data-testid=repository-row]';
const VISIBLE_ROW = `${ROW}:visible`;

test.describe('repositories page', () => {
  test('is rendered on the server (no JavaScript)', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${baseURL()}/`);
      expect(response?.status()).toBe(200);

      const rows = page.locator(ROW);
      await expect(rows).toHaveCount(3);
      const names = (await rows.locator('td.name').allTextContents()).map((n) => n.trim()).sort();
      expect(names).toEqual([...REPOSITORIES].sort());
      await expect(page.getByTestId('repository-count')).toHaveText('3 of 3 repositories');
    } finally {
      await context.close();
    }
  });

  test('filters repositories once hydrated', async ({ page }) => {
    // Hydration failures only show in the browser console: keep them for the report.
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console error: ${msg.text()}`);
    });

    await page.goto(`${baseURL()}/`);
    // The filter only works after the wasm bundle has loaded and hydrated.
    await page.waitForLoadState('networkidle');
    await expect(page.locator(VISIBLE_ROW)).toHaveCount(3);

    const filter = page.getByTestId('repository-filter');
    // Typing before hydration finishes is lost, so keep re-filling until the
    // table reacts (bounded by the expect timeout).
    try {
      await expect(async () => {
        await filter.fill('');
        await filter.fill('worker');
        await expect(page.locator(VISIBLE_ROW)).toHaveCount(1, { timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
    } catch (err) {
      if (errors.length === 0) throw err;
      throw new Error(`the filter never took effect; the page reported:\n${errors.join('\n')}\n\n${err}`);
    }

    await expect(page.locator(VISIBLE_ROW)).toHaveText([/team-a\/worker/]);
    await expect(page.getByTestId('repository-count')).toHaveText('1 of 3 repositories');
    // Non-matching rows stay in the DOM, hidden.
    await expect(page.locator(ROW)).toHaveCount(3);
    await expect(page.locator(`${ROW}[hidden]`)).toHaveCount(2);

    await filter.fill('');
    await expect(page.locator(VISIBLE_ROW)).toHaveCount(3);
    await expect(page.getByTestId('repository-count')).toHaveText('3 of 3 repositories');

    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  // Writes into the test's output folder; set BERTH_SCREENSHOT=screenshots/console.png
  // to refresh the README's picture.
  test('screenshot', async ({ page }, testInfo) => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${baseURL()}/`);
    await page.waitForLoadState('networkidle');
    await expect(page.locator(VISIBLE_ROW)).toHaveCount(3);
    const target = process.env.BERTH_SCREENSHOT
      ? path.resolve(__dirname, '..', process.env.BERTH_SCREENSHOT)
      : testInfo.outputPath('console.png');
    await page.screenshot({ path: target });
  });
});
