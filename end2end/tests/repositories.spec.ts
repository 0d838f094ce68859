import { expect, test } from '@playwright/test';
import {
  ADMIN_PASSWORD,
  SEEDED,
  accessKey,
  awsEcr,
  baseURL,
  hydrated,
  registryHost,
  screenshot,
  signIn,
  signedInContext,
  watchErrors,
} from './helpers';

const ROW = '[data-testid=repository-row]';

test.describe('signing in', () => {
  test('signed-out visitors are sent to the sign-in page, and back after it', async ({ page }) => {
    await page.goto(`${baseURL()}/repositories/team-a/web-app`);
    await expect(page).toHaveURL(/\/login\?next=%2Frepositories%2Fteam-a%2Fweb-app$/);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('password-error')).toHaveText('The user name or password is not correct.');
    await expect(page.getByTestId('signed-in-user')).toHaveCount(0);

    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(`${baseURL()}/repositories/team-a/web-app`);
    await expect(page.getByTestId('repository-name')).toHaveText('team-a/web-app');
  });

  test('the session cookie is HttpOnly and SameSite=Strict, and a new one is issued at sign-in', async ({ browser }) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${baseURL()}/login`);
      // Plant a session id before signing in (session fixation).
      await context.addCookies([{ name: 'berth_session', value: 'planted-by-an-attacker', url: baseURL() }]);
      await signIn(page);
      const cookie = (await context.cookies()).find((c) => c.name === 'berth_session');
      expect(cookie).toBeDefined();
      expect(cookie!.value).not.toBe('planted-by-an-attacker');
      expect(cookie!.httpOnly).toBe(true);
      expect(cookie!.sameSite).toBe('Strict');
    } finally {
      await context.close();
    }
  });

  test('state-changing requests from another site are refused', async ({ browser }) => {
    const { context, page } = await signedInContext(browser);
    try {
      const response = await page.request.post(`${baseURL()}/api/create_repository`, {
        form: { name: 'csrf/should-not-exist' },
        headers: { Origin: 'http://evil.example' },
      });
      expect(response.status()).toBe(403);
      await page.goto(`${baseURL()}/?q=csrf`);
      await expect(page.getByTestId('no-repositories')).toBeVisible();
    } finally {
      await context.close();
    }
  });

  test('sign out ends the session', async ({ browser }) => {
    const { context, page } = await signedInContext(browser);
    try {
      await page.getByTestId('sign-out').click();
      await expect(page).toHaveURL(/\/login/);
      await page.goto(`${baseURL()}/`);
      await expect(page).toHaveURL(/\/login\?next=/);
    } finally {
      await context.close();
    }
  });
});

test.describe('repositories page', () => {
  test('renders on the server, and sign in, create and delete work without JavaScript', async ({ browser }, testInfo) => {
    const { context, page } = await signedInContext(browser, { javaScriptEnabled: false });
    try {
      const names = (await page.locator(`${ROW} td.name`).allTextContents()).map((n) => n.trim());
      expect(names).toEqual(expect.arrayContaining(SEEDED));

      // Create: an invalid name comes back with the rule beside the field.
      await page.getByTestId('create-repository').click();
      await expect(page.getByTestId('name-prefix')).toHaveText(`${registryHost()}/`);
      await page.getByTestId('name').fill('No-JS/Upper');
      await page.getByTestId('create-submit').click();
      await expect(page.getByTestId('name-error')).toContainText('lowercase letters');
      await page.getByTestId('name').fill('nojs/created');
      await page.getByTestId('immutable').check();
      await page.getByTestId('create-submit').click();
      await expect(page).toHaveURL(/\/repositories\/nojs\/created\?created=1$/);
      await expect(page.getByTestId('repository-name')).toHaveText('nojs/created');
      await expect(page.getByTestId('created')).toBeVisible();

      // Delete it from the list, confirming by typing "delete".
      await page.goto(`${baseURL()}/?q=nojs%2Fcreated`);
      await expect(page.locator(ROW)).toHaveCount(1);
      await page.getByLabel('Select nojs/created').check();
      await page.getByTestId('delete-repositories').click();
      await expect(page.getByTestId('delete-names')).toHaveText(/nojs\/created/);
      await page.getByTestId('confirm-delete').click();
      await expect(page.locator('#confirm-error')).toHaveText('To confirm the deletion, type delete in the field.');
      await page.getByLabel(/To confirm deletion/).fill('delete');
      await page.getByTestId('confirm-delete').click();
      await expect(page).toHaveURL(/\/\?deleted=1$/);
      await page.goto(`${baseURL()}/?q=nojs%2Fcreated`);
      await expect(page.getByTestId('no-repositories')).toBeVisible();
      await screenshot(page, testInfo, 'no-js-search');

      // One registry: what the ECR API creates, the console lists, with its settings.
      awsEcr(accessKey(), [
        'create-repository', '--repository-name', 'cli/made',
        '--image-tag-mutability', 'IMMUTABLE', '--image-scanning-configuration', 'scanOnPush=true',
      ]);
      await page.goto(`${baseURL()}/?q=cli%2F`);
      const row = page.locator(ROW);
      await expect(row).toHaveCount(1);
      await expect(row.locator('td.name')).toHaveText('cli/made');
      await expect(row.locator('td').nth(4)).toHaveText('Enabled');
      await expect(row.locator('td').nth(5)).toHaveText('Enabled');
    } finally {
      await context.close();
    }
  });

  test('create with an invalid then a valid name, with live validation', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    await signIn(page);
    await page.getByTestId('create-repository').click();
    await expect(page).toHaveURL(/\/create-repository$/);
    await hydrated(page);

    const name = page.getByTestId('name');
    await name.fill('Web_App');
    await expect(page.getByTestId('name-error')).toContainText('lowercase letters');
    await expect(page.getByTestId('name-error')).toContainText('7 out of 256 characters maximum (2 minimum)');
    await expect(name).toHaveAttribute('aria-invalid', 'true');
    await name.fill('team-c/web-app');
    await expect(page.getByTestId('name-error')).toBeHidden();
    await expect(page.getByTestId('name-help')).toHaveText('14 out of 256 characters maximum (2 minimum)');
    await screenshot(page, testInfo, 'create-repository');

    // A name that is taken is refused by the server, beside the field.
    await name.fill('team-a/web-app');
    await page.getByTestId('create-submit').click();
    await expect(page.getByTestId('name-error')).toHaveText(
      "The repository with name 'team-a/web-app' already exists in the registry",
    );

    await name.fill('team-c/web-app');
    await page.locator('#exclusions').fill('latest, dev-*');
    await page.getByTestId('immutable').check();
    await page.getByTestId('create-submit').click();
    await expect(page).toHaveURL(/\/repositories\/team-c\/web-app\?created=1$/);
    await expect(page.getByTestId('repository-uri')).toHaveText(`${registryHost()}/team-c/web-app`);
    await page.getByRole('tab', { name: 'Settings' }).click();
    await expect(page.locator('#immutable')).toBeChecked();
    await expect(page.locator('#exclusions')).toHaveValue('latest\ndev-*');
    // Settings are editable, and the ECR API sees the change.
    await page.locator('#mutable').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Settings saved.')).toBeVisible();
    const described = awsEcr(accessKey(), ['describe-repositories', '--repository-names', 'team-c/web-app']) as {
      repositories: { imageTagMutability: string }[];
    };
    expect(described.repositories[0].imageTagMutability).toBe('MUTABLE_WITH_EXCLUSION');

    await page.goto(`${baseURL()}/`);
    await expect(page.locator(ROW).first()).toBeVisible();
    await screenshot(page, testInfo, 'repositories');
    // At a phone's width nothing spills sideways: wide tables scroll in their own box.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, testInfo, 'repositories-phone');
    // The taken name was answered 422 (the browser logs that); nothing else failed.
    expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  });

  test('searches as you type, sorts and pages on the server', async ({ page }, testInfo) => {
    const errors = watchErrors(page);
    await signIn(page);
    // 55 more repositories make two pages of 50.
    for (let i = 0; i < 55; i++) {
      const response = await page.request.post(`${baseURL()}/api/create_repository`, {
        form: { name: `paging/repo-${String(i).padStart(2, '0')}` },
        headers: { Origin: baseURL(), Accept: 'application/json' },
      });
      expect(response.status(), await response.text()).toBeLessThan(400);
    }
    await page.goto(`${baseURL()}/`);
    await hydrated(page);
    await expect(page.getByTestId('repository-count')).toContainText('1–50 of');
    await page.getByTestId('repository-filter').fill('paging/');
    await expect(page).toHaveURL(/q=paging%2F|q=paging\//);
    await expect(page.getByTestId('repository-count')).toHaveText('1–50 of 55 repositories');
    await expect(page.getByTestId('page-number')).toHaveText('Page 1 of 2');
    await page.getByTestId('next-page').click();
    await expect(page.getByTestId('repository-count')).toHaveText('51–55 of 55 repositories');
    await expect(page.locator(`${ROW} td.name`)).toHaveText([
      'paging/repo-50', 'paging/repo-51', 'paging/repo-52', 'paging/repo-53', 'paging/repo-54',
    ]);
    // Name, descending: the last one comes first.
    await page.getByTestId('sort-name').click();
    await expect(page.locator(`${ROW} td.name`).first()).toHaveText('paging/repo-54');
    expect(errors).toEqual([]);
  });
});
