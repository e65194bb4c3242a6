// Drives the ai_dashboard in headless Chromium, as an operator would: log
// in with the management key, create an access key, buy credits, create a
// virtual model, let browser_test.go send traffic with the new token, then
// read that request's attempts on the Requests page; every page is visited
// and saved as a screenshot. Any console error or page error fails the run.
//
// Run by browser_test.go, which starts Caddy and talks to this script over
// stdio: this script prints `TOKEN <token> MODEL <model>`, the test answers
// `SENT <request id>` once the traffic is through.
//
// Environment: DASHBOARD_URL (https://127.0.0.1:port/ui/), DASHBOARD_KEY
// (the management key), ARTIFACTS_DIR (screenshots), CHROMIUM (default
// /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const url = process.env.DASHBOARD_URL;
const key = process.env.DASHBOARD_KEY;
const artifacts = process.env.ARTIFACTS_DIR || 'artifacts';
if (!url || !key) throw new Error('DASHBOARD_URL and DASHBOARD_KEY are required');
mkdirSync(artifacts, { recursive: true });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function nextLine() {
  const { value, done } = await lines.next();
  if (done) throw new Error('browser_test.go closed stdin');
  return value;
}

const problems = [];
// expected401 is set while the test sends a wrong key on purpose: the
// browser reports that 401 as a console error, and only that one is allowed.
let expected401 = false;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
let failed = false;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (expected401 && /status of 401/.test(msg.text())) return;
    problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));

  const shots = [];
  const shot = async (name) => {
    const path = join(artifacts, name + '.png');
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  };
  const step = (msg) => console.log('STEP ' + msg);
  // go opens a page through its navigation link and waits for it to render.
  const go = async (linkText, pageName) => {
    await page.getByRole('navigation').getByRole('link', { name: linkText, exact: true }).click();
    await page.locator(`[data-page="${pageName}"][data-ready="true"]`).waitFor();
  };
  const expectNotice = async (re) => {
    const n = page.locator('#notice .notice');
    await n.filter({ hasText: re }).waitFor();
  };

  step('login page');
  await page.goto(url);
  await page.locator('#login-form').waitFor();
  await shot('01-login');

  step('a wrong key is refused');
  expected401 = true;
  await page.getByLabel('Management API key').fill('not-the-key');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectNotice(/not a valid management API key/);
  expected401 = false;

  step('log in with the keyboard');
  await page.getByLabel('Management API key').fill(key);
  await page.getByLabel('Management API key').press('Enter');
  await page.locator('[data-page="overview"][data-ready="true"]').waitFor();
  if ((await page.content()).includes(key)) throw new Error('the management key is in the page');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'ai_dashboard_session');
  if (!session || !session.httpOnly || session.sameSite !== 'Strict' || !session.secure) {
    throw new Error('session cookie attributes: ' + JSON.stringify(session));
  }
  if (cookies.some((c) => c.value.includes(key))) throw new Error('the management key is in a cookie');

  step('keyboard: skip link, then a page opened with Enter gets the focus');
  await page.reload(); // the session outlives a reload
  await page.locator('[data-page="overview"][data-ready="true"]').waitFor();
  await page.keyboard.press('Tab');
  if ((await page.evaluate(() => document.activeElement.textContent)) !== 'Skip to content') throw new Error('the first Tab does not reach the skip link');
  await page.getByRole('navigation').getByRole('link', { name: 'Requests', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-page="requests"][data-ready="true"]').waitFor();
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'main');

  step('create an access key');
  await go('Access keys', 'access-keys');
  await page.getByLabel('Name').first().fill('browser-test');
  await page.getByLabel('Description').first().fill('made by dashboard.mjs');
  await page.getByRole('button', { name: 'Create access key' }).click();
  const tokenInput = page.locator('#new-token');
  await tokenInput.waitFor();
  const token = await tokenInput.inputValue();
  if (token.length < 20) throw new Error('no token shown: ' + token);
  await page.getByRole('cell', { name: 'browser-test', exact: true }).waitFor();
  await shot('03-access-keys');

  step('buy credits');
  await go('Credits', 'credits');
  await page.getByLabel('Amount (USD)').fill('5.00');
  await page.getByLabel('Description').fill('browser test purchase');
  await page.getByRole('button', { name: 'Buy credits' }).click();
  await expectNotice(/Bought \$5\.00/);
  await page.locator('#balance').filter({ hasText: '$5.00' }).waitFor();
  await page.getByRole('cell', { name: 'purchase', exact: true }).first().waitFor();

  step('low-balance settings');
  await page.getByLabel('Low-balance thresholds (USD, comma-separated)').fill('1.00, 0.50');
  await page.getByRole('button', { name: 'Save low-balance settings' }).click();
  await expectNotice(/Low-balance settings saved/);
  await shot('08-credits');

  step('create a virtual model');
  await go('Virtual models', 'virtual-models');
  await page.getByRole('button', { name: 'New virtual model' }).click();
  await page.getByLabel('Name', { exact: true }).fill('browser-fallback');
  await page.getByLabel('Models, in order (one per line, up to 10)').fill('flaky:model-a\nopenai:gpt-4o-mini');
  await page.getByRole('button', { name: 'Create virtual model' }).click();
  await expectNotice(/Virtual model "browser-fallback" saved/);
  await page.getByRole('cell', { name: 'browser-fallback', exact: true }).waitFor();
  await shot('07-virtual-models');

  step('traffic');
  console.log(`TOKEN ${token} MODEL browser-fallback`);
  const answer = await nextLine();
  const m = /^SENT (\S+)$/.exec(answer);
  if (!m) throw new Error('unexpected answer from the test: ' + answer);
  const requestId = m[1];

  step('read the request on the Requests page');
  await go('Requests', 'requests');
  const link = page.getByRole('link', { name: requestId, exact: true });
  await link.waitFor();
  await shot('02-requests');
  await link.click();
  await page.locator('[data-page="requests"][data-ready="true"] .attempt').first().waitFor();
  const attempts = page.locator('.attempt');
  if ((await attempts.count()) < 2) throw new Error(`want 2 attempts (failover), got ${await attempts.count()}`);
  const first = await attempts.nth(0).innerText();
  const last = await attempts.nth(1).innerText();
  if (!/flaky:model-a/.test(first) || !/Moved on to the next model or provider/.test(first)) throw new Error('attempt 1: ' + first);
  if (!/openai:gpt-4o-mini/.test(last) || !/Succeeded/.test(last)) throw new Error('attempt 2: ' + last);
  console.log('ATTEMPTS ' + JSON.stringify([first.split('\n')[0], last.split('\n')[0]]));
  await shot('02-request-attempts');

  step('filters on the Requests page');
  await go('Requests', 'requests');
  await page.getByLabel('Status').selectOption('failed');
  await page.getByText('No requests match.').waitFor();
  await page.getByLabel('Status').selectOption('ok');
  await page.getByRole('link', { name: requestId, exact: true }).waitFor();

  step('overview');
  await go('Overview', 'overview');
  await page.locator('#chart-spend').waitFor();
  await page.getByLabel('Group by').selectOption('accessKey');
  await page.locator('#totals-h').waitFor();
  await page.locator('.stats').filter({ hasText: 'Requests' }).first().waitFor();
  const stats = await page.locator('.stats').first().innerText();
  if (!/Requests\s*1\b/.test(stats)) throw new Error('overview totals: ' + stats);
  await shot('00-overview');

  step('configurations');
  await go('Configurations', 'configurations');
  await page.getByRole('button', { name: 'New configuration' }).click();
  await page.getByLabel('Name', { exact: true }).fill('only-mini');
  await page.getByLabel(/Access, routing/).fill(JSON.stringify({
    access: { models: { allow: ['gpt-4o-mini'] } },
    limits: { requestsPerMinute: 60 },
  }, null, 2));
  await page.getByRole('button', { name: 'Create configuration' }).click();
  await expectNotice(/Configuration "only-mini" saved/);
  await page.getByRole('cell', { name: '60 req/min' }).waitFor();
  // the editor's starting JSON is a valid configuration as it stands
  await page.getByRole('button', { name: 'New configuration' }).click();
  await page.getByLabel('Name', { exact: true }).fill('defaults');
  await page.getByRole('button', { name: 'Create configuration' }).click();
  await expectNotice(/Configuration "defaults" saved/);
  await page.getByRole('button', { name: 'Edit only-mini' }).click();
  await page.getByLabel('Description').fill('edited in the browser');
  await shot('04-configurations');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await expectNotice(/Configuration "only-mini" saved/);

  step('provider keys');
  await go('Provider keys', 'provider-keys');
  await page.getByLabel('Provider', { exact: true }).selectOption('openai');
  await page.getByLabel('Name', { exact: true }).fill('browser-openai');
  await page.getByLabel('Secret').fill('sk-browser-test-secret-0123456789');
  await page.getByRole('button', { name: 'Add provider key' }).click();
  await expectNotice(/Provider key "browser-openai" added/);
  await page.getByRole('button', { name: 'Rotate browser-openai' }).click();
  await page.getByLabel('New secret').fill('sk-browser-test-rotated-9876543210');
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
  await expectNotice(/rotated/);
  const pkText = await page.locator('#provider-key-list').innerText();
  if (pkText.includes('sk-browser-test-rotated-9876543210')) throw new Error('a provider key secret is shown');
  await shot('05-provider-keys');

  step('providers and models');
  await go('Providers and models', 'models');
  await page.getByLabel('Filter models').fill('gpt-4o-mini');
  const row = page.getByRole('row').filter({ hasText: 'openai:gpt-4o-mini' }).first();
  await row.waitFor();
  await shot('06-models');

  step('access key lifecycle');
  await go('Access keys', 'access-keys');
  await page.getByRole('button', { name: 'Disable browser-test' }).click();
  await page.getByRole('button', { name: 'Enable browser-test' }).waitFor();
  await page.getByRole('button', { name: 'Enable browser-test' }).click();
  // Escape cancels a dialog: nothing is rotated
  await page.getByRole('button', { name: 'Rotate browser-test' }).click();
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Rotate browser-test' }).click();
  await page.getByLabel('Old token').selectOption('1h');
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
  await tokenInput.waitFor();
  const rotated = await tokenInput.inputValue();
  if (!rotated || rotated === token) throw new Error('rotation showed no new token');
  await page.getByText('old token valid until').waitFor();
  await shot('03-access-keys-rotated');

  step('log out');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-form').waitFor();
  await page.goto(url + '#/requests');
  await page.locator('#login-form').waitFor();

  console.log('SHOTS ' + JSON.stringify(shots));
} catch (e) {
  failed = true;
  console.error(e && e.stack ? e.stack : String(e));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error('console or page errors:\n' + problems.join('\n'));
  failed = true;
}
console.log(failed ? 'FAIL' : 'DONE');
process.exit(failed ? 1 : 0);
