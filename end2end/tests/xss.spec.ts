/**
 * Markup in what users control never runs in the console: a tag or
 * repository name made of markup is refused by the registry and creates
 * nothing; markup stored through the ECR API, the registry API and the
 * console (a lifecycle rule description, repository and registry policy
 * Sids, an artifact type, a layer media type, an annotation) or carried by a
 * link (a policy draft, a search, the sign-in page's next) shows as text on
 * every page that shows it: no element is injected, no dialog opens, no
 * script sets window.__xss, before or after hydration.
 */
import { expect, test, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { ADMIN_PASSWORD, ADMIN_USER, baseURL, hydrated, signedInContext, watchErrors } from './helpers';
import { aws, pushBlob, pushImage } from './registry';

const MARKUP = `"'></textarea></script><img src=x onerror=window.__xss=1><svg onload=alert(2)><script>window.__xss=3</script>`;
const SHORT_MARKUP = '<img src=x onerror=window.__xss=4>';
const REPO = 'xss/app';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const auth = 'Basic ' + Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString('base64');

/** The markup's text where it sits inside a JSON string (quotes escaped). */
const IN_JSON = JSON.stringify(MARKUP).slice(1, -1);

async function putManifest(name: string, reference: string, body: string): Promise<Response> {
  return fetch(`${baseURL()}/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': MANIFEST },
    body,
  });
}

/** An artifact whose artifact type, layer media type and annotation carry the markup; returns its digest. */
async function pushMarkedArtifact(): Promise<string> {
  const data = Buffer.from('markup');
  const layer = await pushBlob(REPO, data);
  const empty = await pushBlob(REPO, Buffer.from('{}'));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType: `application/x.${MARKUP}`,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
    layers: [{ mediaType: `text/${MARKUP}`, digest: layer, size: data.length }],
    annotations: { 'org.opencontainers.image.description': MARKUP },
  });
  const res = await putManifest(REPO, 'marked', manifest);
  expect(res.status, await res.text()).toBe(201);
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

/** Calls a console server function from the signed-in page's context, as the hydrated console does. */
async function serverFn(page: Page, endpoint: string, form: Record<string, string>): Promise<void> {
  const res = await page.request.post(`${baseURL()}/api/${endpoint}`, { form, headers: { Origin: baseURL() } });
  expect(res.status(), await res.text()).toBe(200);
}

/** A policy whose Sid is the markup; it denies an action no test uses. */
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: MARKUP, Effect: 'Deny', Principal: '*', Action: 'ecr:ReplicateImage' }],
});

/** Checks that nothing of the markup ran or became an element on the page. */
async function unharmed(page: Page, where: string, dialogs: string[]): Promise<void> {
  await expect(page.locator('img[src="x"]'), `${where}: injected <img>`).toHaveCount(0);
  await expect(page.locator('svg[onload]'), `${where}: injected <svg>`).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), `${where}: script ran`).toBeUndefined();
  expect(dialogs, `${where}: a dialog opened`).toEqual([]);
}

/** Opens `path`, lets it hydrate, and checks it [[unharmed]]. */
async function openUnharmed(page: Page, path: string, dialogs: string[]): Promise<void> {
  await page.goto(`${baseURL()}${path}`);
  await hydrated(page);
  await unharmed(page, path, dialogs);
}

test('names and tags made of markup are refused by the registry and create nothing', async () => {
  await pushImage(REPO);
  const encoded = encodeURIComponent('<img src=x onerror=alert(1)>');
  const manifest = await (await fetch(`${baseURL()}/v2/${REPO}/manifests/v1`, { headers: { Authorization: auth, Accept: MANIFEST } })).text();
  for (const [name, reference, code] of [
    [REPO, encoded, 'TAG_INVALID'],
    [encoded, 'v1', 'NAME_INVALID'],
    [`xss/${encoded}`, 'v1', 'NAME_INVALID'],
  ]) {
    const res = await putManifest(name, reference, manifest);
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].code).toBe(code);
  }
  const tags = await (await fetch(`${baseURL()}/v2/${REPO}/tags/list`, { headers: { Authorization: auth } })).json();
  expect(tags.tags).toEqual(['v1']);
  const catalog = await (await fetch(`${baseURL()}/v2/_catalog`, { headers: { Authorization: auth } })).json();
  expect(catalog.repositories.filter((n: string) => n.startsWith('xss'))).toEqual([REPO]);
});

test('markup stored or linked shows as text on every page and never runs', async ({ browser }) => {
  const { context, page } = await signedInContext(browser);
  const errors = watchErrors(page);
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  try {
    await pushImage(REPO);
    const digest = await pushMarkedArtifact();
    // Through the ECR API (the AWS CLI), the lifecycle rule's description.
    aws(['ecr', 'put-lifecycle-policy', '--repository-name', REPO, '--lifecycle-policy-text', JSON.stringify({
      rules: [{ rulePriority: 1, description: MARKUP, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }],
    })]);
    // Through the console, the repository's and the registry's policy Sids.
    await serverFn(page, 'save_policy', { scope: 'repository', name: REPO, policy: POLICY });
    await serverFn(page, 'save_policy', { scope: 'registry', name: '', policy: POLICY });

    await openUnharmed(page, `/repositories/${REPO}`, dialogs);
    await expect(page.getByTestId('image-row').filter({ hasText: MARKUP })).toHaveCount(1);

    await openUnharmed(page, `/image/${REPO}?digest=${digest}`, dialogs);
    await expect(page.getByTestId('image-title')).toHaveText('marked');
    await expect(page.locator('.facts')).toContainText(`application/x.${MARKUP}`);
    await expect(page.getByTestId('layers')).toContainText(`text/${MARKUP}`);
    await expect(page.getByTestId('manifest')).toContainText(IN_JSON);

    await openUnharmed(page, `/repositories/${REPO}?tab=lifecycle`, dialogs);
    await expect(page.getByTestId('rules')).toContainText(MARKUP);
    expect(await page.getByTestId('policy-text').inputValue()).toContain(IN_JSON);

    await openUnharmed(page, `/repositories/${REPO}?tab=permissions`, dialogs);
    expect(await page.getByTestId('policy-text').inputValue()).toContain(IN_JSON);

    await openUnharmed(page, '/settings', dialogs);
    expect(await page.getByTestId('policy-text').inputValue()).toContain(IN_JSON);

    // Links another site could hand a signed-in user.
    const q = encodeURIComponent(MARKUP);
    await openUnharmed(page, `/repositories/${REPO}?tab=permissions&add=1&policy=${q}`, dialogs);
    await expect(page.getByTestId('policy-text')).toHaveValue(MARKUP);
    await openUnharmed(page, `/?q=${q}`, dialogs);
    await expect(page.getByTestId('repository-filter')).toHaveValue(MARKUP);

    // Input typed into the console's forms comes back in error messages as text.
    // (A user name is at most 64 characters: a short markup there.)
    await openUnharmed(page, '/create-repository', dialogs);
    await page.getByTestId('name').fill(MARKUP);
    await page.getByTestId('create-submit').click();
    await expect(page.getByTestId('name-error')).not.toBeEmpty();
    await unharmed(page, 'create-repository error', dialogs);
    await openUnharmed(page, '/create-user', dialogs);
    await page.getByLabel('User name').fill(SHORT_MARKUP);
    await expect(page.getByTestId('name-error')).toContainText(SHORT_MARKUP);
    await unharmed(page, 'create-user error', dialogs);

    const anonymous = await browser.newContext();
    try {
      const login = await anonymous.newPage();
      login.on('dialog', async (dialog) => {
        dialogs.push(dialog.message());
        await dialog.dismiss();
      });
      await openUnharmed(login, `/login?next=${q}`, dialogs);
      await expect(login.locator('input[name=next]')).toHaveValue(MARKUP);
    } finally {
      await anonymous.close();
    }
    expect(errors.filter((e) => !e.includes('Failed to load resource')), 'uncaught errors in the page').toEqual([]);
  } finally {
    // The other specs expect no registry policy.
    await page.request.post(`${baseURL()}/api/delete_policy`, { form: { scope: 'registry', name: '' }, headers: { Origin: baseURL() } });
    await context.close();
  }
});
