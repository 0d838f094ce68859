import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TOOLS, accessKey, baseURL, hydrated, registryHost, screenshot, signIn, watchErrors } from './helpers';

test('View push commands: the copied commands push an image that shows in the table; a console policy that denies pushes stops docker', async ({ browser }, testInfo) => {
  expect(process.env.DOCKER_HOST, 'make test starts a private dockerd and sets DOCKER_HOST').toBeTruthy();
  test.setTimeout(180_000);
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL() });
  const page = await context.newPage();
  const errors = watchErrors(page);
  const work = mkdtempSync(path.join(tmpdir(), 'berth-e2e-push-'));
  try {
    await signIn(page);
    await page.goto(`${baseURL()}/create-repository`);
    await hydrated(page);
    await page.getByTestId('name').fill('e2e/pushed');
    await page.getByTestId('create-submit').click();
    await expect(page).toHaveURL(/\/repositories\/e2e\/pushed/);
    await expect(page.getByTestId('no-images')).toBeVisible();

    await page.getByTestId('view-push-commands').click();
    const dialog = page.getByTestId('push-commands');
    await expect(dialog).toBeVisible();
    await hydrated(page);
    // Keyboard: focus moves into the dialog when it opens.
    await expect(dialog.getByTestId('close-dialog')).toBeFocused();
    const commands: string[] = [];
    for (let step = 1; step <= 4; step++) {
      const item = dialog.locator('[role=tabpanel]:visible ol.steps > li').nth(step - 1);
      await item.getByTestId('copy').click();
      await expect(item.getByTestId('copy')).toHaveText('Copied');
      commands.push(await page.evaluate(() => navigator.clipboard.readText()));
    }
    const host = registryHost();
    expect(commands).toEqual([
      `aws ecr get-login-password --region us-east-1 --endpoint-url ${baseURL()} | docker login --username AWS --password-stdin ${host}`,
      'docker build -t e2e/pushed .',
      `docker tag e2e/pushed:latest ${host}/e2e/pushed:latest`,
      `docker push ${host}/e2e/pushed:latest`,
    ]);
    await page.getByRole('tab', { name: 'Windows' }).click();
    await expect(dialog.getByTestId('push-step-windows-1')).toContainText('Get-ECRLoginCommand -Region us-east-1');
    await expect(dialog.getByTestId('push-step-unix-1')).toBeHidden();
    await expect(dialog.getByTestId('password-login')).toHaveText(`docker login --username admin ${host}`);
    await screenshot(page, testInfo, 'push-commands');
    // Keyboard: Escape closes the dialog.
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);

    // Run them, as pasted, in a shell with the AWS CLI and the private dockerd.
    writeFileSync(path.join(work, 'hello.txt'), `pushed by the console test at ${new Date().toISOString()}\n`);
    writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    const key = accessKey();
    const env = {
      ...process.env,
      PATH: `${path.join(TOOLS, 'venv', 'bin')}:${process.env.PATH}`,
      AWS_ACCESS_KEY_ID: key.id,
      AWS_SECRET_ACCESS_KEY: key.secret,
      AWS_EC2_METADATA_DISABLED: 'true',
      DOCKER_CONFIG: path.join(work, 'docker-config'),
      DOCKER_BUILDKIT: '0',
    };
    for (const command of commands) {
      execFileSync('/bin/bash', ['-euo', 'pipefail', '-c', command], { cwd: work, env, stdio: 'pipe', timeout: 120_000 });
    }

    await page.goto(`${baseURL()}/repositories/e2e/pushed`);
    const rows = page.getByTestId('image-row');
    await expect(rows).toHaveCount(1);
    await expect(rows.getByTestId('image-tags')).toHaveText('latest');
    await screenshot(page, testInfo, 'repository');

    // A repository policy written in the console that denies admin pushes
    // makes docker push fail; deleting it lets the push through.
    await page.goto(`${baseURL()}/repositories/e2e/pushed?tab=permissions`);
    await hydrated(page);
    await page.getByLabel('Sid (optional)').fill('NoPushes');
    await page.getByLabel('Deny', { exact: true }).check();
    await page.getByLabel('Principal', { exact: true }).fill('admin');
    await page.getByLabel('ecr:PutImage', { exact: true }).check();
    await page.getByLabel('ecr:InitiateLayerUpload', { exact: true }).check();
    await page.getByTestId('add-statement').click();
    await expect(page.getByTestId('policy-text')).toHaveValue(/"Sid": "NoPushes"/);
    await page.getByTestId('save-policy').click();
    await expect(page.getByTestId('policy-notice')).toHaveText('Policy saved.');
    const pushV2 = () =>
      execFileSync('/bin/bash', ['-euo', 'pipefail', '-c',
        `docker tag e2e/pushed:latest ${host}/e2e/pushed:v2 && docker push ${host}/e2e/pushed:v2`],
        { cwd: work, env, stdio: 'pipe', timeout: 120_000, encoding: 'utf8' });
    let refusal = '';
    try {
      pushV2();
    } catch (err) {
      refusal = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(refusal, 'docker push must fail while the policy denies it').toMatch(/denied/i);
    await page.getByTestId('delete-policy').click();
    await expect(page.getByTestId('policy-notice')).toHaveText('Policy deleted.');
    pushV2();

    // The image page lists its one layer; v2 is the same image.
    await page.goto(`${baseURL()}/repositories/e2e/pushed`);
    await expect(rows.getByTestId('image-tags')).toHaveText('latestv2');
    await rows.locator('a').first().click();
    await expect(page.getByTestId('image-title')).toHaveText('latest');
    await expect(page.getByTestId('layers').locator('tbody tr')).toHaveCount(1);
    await expect(page.getByTestId('no-referrers')).toBeVisible();
    expect(errors).toEqual([]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await context.close();
  }
});
