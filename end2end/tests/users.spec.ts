/**
 * Users and access keys (administrators only): create a user with a managed
 * policy, make an access key and prove it signs real AWS CLI requests, reset
 * the password and sign in with it, revoke the key and see the CLI refused,
 * delete the user; the refusals (a wrong confirmation, mismatched or short
 * passwords, a non-administrator) change nothing. Also once without JavaScript.
 */
import { expect, test, type Page } from '@playwright/test';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SEEDED, baseURL, hydrated, screenshot, signIn, signedInContext, watchErrors } from './helpers';

const execFileAsync = promisify(execFile);
const AWS = path.join(homedir(), '.cache', 'berth-tools', 'venv', 'bin', 'aws');
/** The read-only managed policy: pulls, and lists repositories (PullOnly cannot list). */
const READ_ONLY = 'AmazonEC2ContainerRegistryReadOnly';

interface CliResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** `aws ecr describe-repositories` against this Berth, signed with the given key. */
async function describeRepositories(id: string, secret: string): Promise<CliResult> {
  // Only the key given here: no profile, config file or instance metadata from outside.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('BERTH_')) env[k] = v;
  }
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: id,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_CONFIG_FILE: '/nonexistent/berth-e2e-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/berth-e2e-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  });
  const args = ['ecr', 'describe-repositories', '--endpoint-url', baseURL(), '--region', 'us-east-1', '--output', 'json'];
  try {
    const { stdout, stderr } = await execFileAsync(AWS, args, { env, timeout: 60_000 });
    return { ok: true, stdout, stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

/** Fills the create-user form and submits it. */
async function submitNewUser(page: Page, name: string, password: string, confirm: string, policy = ''): Promise<void> {
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Type the password again').fill(confirm);
  await page.getByLabel('Managed policy to attach').selectOption(policy);
  await page.getByTestId('create-user-submit').click();
}

test.describe('users and access keys', () => {
  test('an administrator creates a user and a key that works, resets, revokes and deletes', async ({ browser }, testInfo) => {
    const name = 'e2e-dev';
    const { context, page } = await signedInContext(browser);
    const errors = watchErrors(page);
    try {
      // The Users link is an administrator's.
      await page.getByTestId('nav-users').click();
      await expect(page).toHaveURL(/\/users$/);
      await hydrated(page);
      const rowOf = (user: string) =>
        page.getByTestId('user-row').filter({ has: page.getByRole('link', { name: user, exact: true }) });
      const adminRow = rowOf('admin');
      await expect(adminRow).toContainText('(you)');
      await expect(adminRow.getByTestId('user-policies')).toContainText('AmazonEC2ContainerRegistryFullAccess');
      await expect(adminRow.getByRole('link', { name: /^Delete/ })).toHaveCount(0);

      // Create: a short password, then mismatched copies, are refused beside their fields.
      await page.getByTestId('create-user').click();
      await expect(page).toHaveURL(/\/create-user$/);
      await hydrated(page);
      await submitNewUser(page, name, 'too-short', 'too-short', READ_ONLY);
      await expect(page.getByTestId('password-error')).toContainText('at least 12 characters');
      await submitNewUser(page, name, 'e2e-dev-password-1', 'e2e-dev-password-2', READ_ONLY);
      await expect(page.getByTestId('password-confirm-error')).toContainText('do not match');
      await expect(page).toHaveURL(/\/create-user$/);
      await submitNewUser(page, name, 'e2e-dev-password-1', 'e2e-dev-password-1', READ_ONLY);
      await expect(page).toHaveURL(new RegExp(`/users/${name}\\?created=1$`));
      await expect(page.getByTestId('user-created')).toHaveText(`Created the user ${name}.`);
      await expect(page.getByTestId('policy-row')).toHaveCount(1);
      await expect(page.getByTestId('policy-row')).toContainText(READ_ONLY);
      await expect(page.getByTestId('no-keys')).toBeVisible();

      // Attach another managed policy, then detach it again.
      await hydrated(page);
      await page.getByTestId('attach-policy').selectOption('AmazonEC2ContainerRegistryPowerUser');
      await page.getByTestId('attach-submit').click();
      await expect(page.getByTestId('policy-row')).toHaveCount(2);
      await expect(page.getByTestId('policy-row').filter({ hasText: 'AmazonEC2ContainerRegistryPowerUser' })).toHaveCount(1);
      await expect(page.getByTestId('attach-policy').locator('option')).toHaveCount(2);
      await page.getByRole('button', { name: 'Detach AmazonEC2ContainerRegistryPowerUser' }).click();
      await expect(page.getByTestId('policy-row')).toHaveCount(1);
      await expect(page.getByTestId('policy-row')).toContainText(READ_ONLY);

      // An access key: its secret is shown this once.
      await page.getByTestId('create-key').click();
      const notice = page.getByTestId('new-key');
      await expect(notice).toContainText('You will not see it again');
      const keyId = (await page.getByTestId('new-key-id').textContent())!.trim();
      const secret = (await page.getByTestId('new-key-secret').textContent())!.trim();
      expect(keyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
      expect(secret).toHaveLength(40);
      await expect(notice.getByRole('button', { name: 'Copy secret' })).toBeVisible();
      await expect(page.getByTestId('key-row')).toHaveCount(1);
      await expect(page.getByTestId('key-id')).toHaveText(keyId);
      await expect(page.getByTestId('key-last-used')).toHaveText('Never');
      await screenshot(page, testInfo, 'user-new-access-key');

      // The key signs real requests: the AWS CLI lists the seeded repositories.
      const allowed = await describeRepositories(keyId, secret);
      expect(allowed.ok, `aws ecr describe-repositories failed:\n${allowed.stderr}`).toBe(true);
      const names = (JSON.parse(allowed.stdout).repositories as { repositoryName: string }[]).map((r) => r.repositoryName);
      expect(names).toEqual(expect.arrayContaining(SEEDED));

      // Shown once: a reload no longer has the secret, and the key now has a last use.
      await page.goto(`${baseURL()}/users/${name}`);
      await expect(page.getByTestId('key-row')).toHaveCount(1);
      await expect(page.getByTestId('new-key')).toHaveCount(0);
      expect(await page.content()).not.toContain(secret);
      await expect(page.getByTestId('key-last-used')).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

      // Reset the password from the user's page.
      await hydrated(page);
      await page.getByTestId('reset-password').click();
      const reset = page.getByTestId('reset-dialog');
      await reset.getByLabel('New password', { exact: true }).fill('e2e-dev-password-3');
      await reset.getByLabel('Type the new password again').fill('e2e-dev-password-4');
      await reset.getByTestId('reset-submit').click();
      await expect(reset.getByTestId('password-confirm-error')).toContainText('do not match');
      await reset.getByLabel('New password', { exact: true }).fill('e2e-dev-password-3');
      await reset.getByLabel('Type the new password again').fill('e2e-dev-password-3');
      await reset.getByTestId('reset-submit').click();
      await expect(page.getByTestId('password-reset')).toContainText(`Changed the password of ${name}`);
      await expect(page.getByTestId('reset-dialog')).toHaveCount(0);
      const devRow = rowOf(name);
      await expect(devRow.getByTestId('user-policies')).toHaveText(READ_ONLY);
      await expect(devRow.getByTestId('user-keys')).toHaveText('1');
      await screenshot(page, testInfo, 'users');

      // The user signs in with the new password, sees no Users link, and is refused the page
      // and the server functions.
      const dev = await browser.newContext();
      try {
        const devPage = await dev.newPage();
        await signIn(devPage, name, 'e2e-dev-password-3');
        await expect(devPage.getByTestId('nav-users')).toHaveCount(0);
        await devPage.goto(`${baseURL()}/users`);
        await expect(devPage.getByTestId('error')).toContainText('You are not allowed to manage users');
        await expect(devPage.getByTestId('user-row')).toHaveCount(0);
        await devPage.goto(`${baseURL()}/create-user`);
        await expect(devPage.getByTestId('error')).toContainText('You are not allowed to manage users');
        await expect(devPage.getByTestId('create-user-form')).toHaveCount(0);
        const sneaky = await devPage.request.post(`${baseURL()}/api/create_user`, {
          form: { name: 'e2e-sneaky', password: 'sneaky-password-1', password_confirm: 'sneaky-password-1', policy: 'AmazonEC2ContainerRegistryFullAccess' },
          headers: { Origin: baseURL() },
        });
        expect(sneaky.ok()).toBe(false);
        expect(await sneaky.text()).toContain('You are not allowed to manage users');
      } finally {
        await dev.close();
      }
      await page.goto(`${baseURL()}/users`);
      await expect(rowOf('e2e-sneaky')).toHaveCount(0);

      // Revoke the key: the same CLI call is refused.
      await page.goto(`${baseURL()}/users/${name}`);
      await hydrated(page);
      await page.getByRole('link', { name: `Revoke ${keyId}` }).click();
      await page.getByTestId('revoke-dialog').getByTestId('confirm-revoke').click();
      await expect(page.getByTestId('key-revoked')).toContainText(keyId);
      await expect(page.getByTestId('key-row')).toHaveCount(0);
      const refused = await describeRepositories(keyId, secret);
      expect(refused.ok).toBe(false);
      expect(refused.stderr).toContain('UnrecognizedClientException');

      // Delete: a wrong confirmation changes nothing; the right one deletes.
      await page.goto(`${baseURL()}/users`);
      await hydrated(page);
      await devRow.getByRole('link', { name: `Delete ${name}` }).click();
      const dialog = page.getByTestId('delete-dialog');
      await dialog.getByLabel(/To confirm/).fill('e2e-de');
      await dialog.getByTestId('confirm-delete').click();
      await expect(dialog.getByTestId('confirm-error')).toContainText(`type the user name ${name}`);
      await page.goto(`${baseURL()}/users`);
      await expect(devRow).toHaveCount(1);
      await hydrated(page);
      await devRow.getByRole('link', { name: `Delete ${name}` }).click();
      await dialog.getByLabel(/To confirm/).fill(name);
      await dialog.getByTestId('confirm-delete').click();
      await expect(page.getByTestId('user-deleted')).toHaveText(`Deleted the user ${name}.`);
      await expect(devRow).toHaveCount(0);
      await expect(adminRow).toHaveCount(1);

      // The four refused submissions (short password, mismatched twice, wrong confirmation)
      // are answered with an error status that the browser logs (500 before client
      // mistakes got their 4xx, 422 after); nothing else may fail.
      const refusals = errors.filter((e) => /status of (422|500)\b/.test(e));
      expect(errors.filter((e) => !refusals.includes(e))).toEqual([]);
      expect(refusals).toHaveLength(4);
    } finally {
      await context.close();
    }
  });

  test('users are created, given a key and deleted without JavaScript', async ({ browser }) => {
    const name = 'e2e-nojs';
    const { context, page } = await signedInContext(browser, { javaScriptEnabled: false });
    try {
      await page.goto(`${baseURL()}/users`);
      await page.getByTestId('create-user').click();
      // The server's own check, with no script in the page to catch it first.
      await submitNewUser(page, name, 'nojs-password-1', 'nojs-password-2');
      await expect(page.getByTestId('password-confirm-error')).toContainText('do not match');
      await page.goto(`${baseURL()}/users`);
      await expect(page.getByTestId('user-row').filter({ hasText: name })).toHaveCount(0);

      await page.goto(`${baseURL()}/create-user`);
      await submitNewUser(page, name, 'nojs-password-1', 'nojs-password-1', 'AmazonEC2ContainerRegistryPullOnly');
      await expect(page).toHaveURL(new RegExp(`/users/${name}\\?created=1$`));
      await expect(page.getByTestId('policy-row')).toContainText('AmazonEC2ContainerRegistryPullOnly');

      await page.getByTestId('create-key').click();
      await expect(page.getByTestId('new-key')).toContainText('You will not see it again');
      const secret = (await page.getByTestId('new-key-secret').textContent())!.trim();
      expect(secret).toHaveLength(40);
      await page.reload();
      await expect(page.getByTestId('key-row')).toHaveCount(1);
      await expect(page.getByTestId('new-key')).toHaveCount(0);

      await page.getByTestId('delete-user').click();
      await page.getByLabel(/To confirm/).fill(name);
      await page.getByTestId('confirm-delete').click();
      await expect(page.getByTestId('user-deleted')).toHaveText(`Deleted the user ${name}.`);
      await expect(page.getByTestId('user-row').filter({ hasText: name })).toHaveCount(0);
    } finally {
      await context.close();
    }
  });
});
