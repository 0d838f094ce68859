/**
 * The key service in the console: an administrator makes a key on the
 * settings page (a reserved alias is refused beside the field), sees the
 * repository that names it, disables and enables it, turns yearly rotation
 * on and rotates it, schedules its deletion after reading which repositories
 * name it (a waiting period out of 7–30 is refused beside the form) and
 * cancels it; the command line sees each change. Berth's own default key is
 * listed as managed, with no action.
 */
import { expect, test } from '@playwright/test';
import { baseURL, hydrated, screenshot, signedInContext, watchErrors } from './helpers';
import { aws, berth, unique } from './registry';

/** The key's `KeyMetadata` as `berth kms describe-key --json` prints it. */
function describeKey(name: string): { KeyState: string; KeyRotationEnabled: boolean } {
  const json = JSON.parse(berth(['kms', 'describe-key', name, '--json']));
  return json.KeyMetadata ?? json;
}

test('keys: create, disable and enable, rotation, deletion scheduled and cancelled', async ({ browser }, testInfo) => {
  const alias = `alias/e2e-${unique()}`;
  const repository = `keys-e2e/${unique()}`;
  const managedRepository = `keys-e2e/${unique()}-default`;
  const { context, page } = await signedInContext(browser);
  const errors = watchErrors(page);
  try {
    // Two repositories: one naming the new key (once made), one the default key.
    aws(['ecr', 'create-repository', '--repository-name', managedRepository, '--encryption-configuration', 'encryptionType=KMS']);

    await page.goto(`${baseURL()}/settings`);
    await hydrated(page);
    const section = page.getByRole('region', { name: 'Keys' });
    await expect(section).toBeVisible();
    await expect(section).toContainText("refuses the pushes and pulls of its repositories' blobs");

    // A reserved alias is refused by the server, beside the field.
    await section.getByTestId('key-alias').fill('alias/aws/mine');
    await section.getByTestId('key-create').click();
    await expect(section.getByTestId('key-alias-error')).toContainText('is reserved');

    await section.getByTestId('key-alias').fill(alias);
    await section.getByTestId('key-description').fill('made by the browser test');
    await section.getByTestId('key-create').click();
    const row = section.getByTestId('key').filter({ hasText: alias });
    await expect(row.getByTestId('key-state')).toHaveText('Enabled');
    await expect(row.getByTestId('key-manager')).toHaveText('Customer');
    await expect(row.getByTestId('key-rotation')).toHaveText('Off');
    await expect(row.getByTestId('key-repositories')).toHaveText('No repository');
    expect(describeKey(alias).KeyState).toBe('Enabled');

    aws(['ecr', 'create-repository', '--repository-name', repository, '--encryption-configuration', `encryptionType=KMS,kmsKey=${alias}`]);
    await page.reload();
    await hydrated(page);
    await expect(row.getByTestId('key-repositories')).toHaveText(repository);

    // Berth's default key is managed: no action is offered.
    const managed = section.getByTestId('key').filter({ hasText: 'alias/aws/ecr' });
    await expect(managed.getByTestId('key-managed')).toHaveText('Managed by Berth');
    await expect(managed.getByRole('button')).toHaveCount(0);
    await expect(managed.getByTestId('key-repositories')).toContainText(managedRepository);

    await row.getByRole('button', { name: `Disable for key ${alias}` }).click();
    await expect(row.getByTestId('key-state')).toHaveText('Disabled');
    expect(describeKey(alias).KeyState).toBe('Disabled');
    await row.getByRole('button', { name: `Enable for key ${alias}` }).click();
    await expect(row.getByTestId('key-state')).toHaveText('Enabled');

    await row.getByRole('button', { name: `Turn on yearly rotation for key ${alias}` }).click();
    await expect(row.getByTestId('key-rotation')).toContainText('Yearly, next on ');
    expect(describeKey(alias).KeyRotationEnabled).toBe(true);
    await row.getByRole('button', { name: `Rotate now for key ${alias}` }).click();
    await expect(row.getByTestId('key-rotation')).toContainText('; last rotated on ');

    // Scheduling a deletion shows the repositories that name the key first.
    await row.getByText('Schedule deletion…').click();
    await expect(row.getByTestId('key-deletion-warning')).toContainText(`Repositories that name this key: ${repository}.`);
    await expect(row.getByTestId('key-deletion-warning')).toContainText("once the key is deleted their images' blobs can never be read again");
    await screenshot(page, testInfo, 'keys-schedule-deletion');
    await row.getByTestId('key-days').evaluate((input: HTMLInputElement) => input.removeAttribute('min'));
    await row.getByTestId('key-days').fill('5');
    await row.getByRole('button', { name: `Schedule deletion of key ${alias}` }).click();
    await expect(section.getByTestId('key-days-error')).toContainText('7 to 30 days');
    await expect(row.getByTestId('key-state')).toHaveText('Enabled');
    await row.getByTestId('key-days').fill('7');
    await row.getByRole('button', { name: `Schedule deletion of key ${alias}` }).click();
    await expect(row.getByTestId('key-state')).toHaveText('Pending deletion');
    await expect(row.getByTestId('key-deletion')).toContainText('Erased on ');
    expect(describeKey(alias).KeyState).toBe('PendingDeletion');

    await row.getByRole('button', { name: `Cancel deletion for key ${alias}` }).click();
    await expect(row.getByTestId('key-state')).toHaveText('Disabled');
    await expect(row.getByTestId('key-deletion')).toHaveText('—');
    // Refused calls answer with an error status, which Chromium logs; nothing else may appear.
    expect(errors.filter((e) => !e.includes('Failed to load resource')), 'uncaught errors in the page').toEqual([]);
  } finally {
    await context.close();
  }
});
