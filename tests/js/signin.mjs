// An inspector signs in to carelog's HTML pages in a real browser (Debian's chromium, driven by
// playwright-core) with the OpenID Connect provider of tests/js/provider.mjs, opens a child's
// timeline and the KPI page, and signs out. Each thing a person would see is printed as a JSON
// line for tests/security/test_browser_signin.py to check; screenshots go to SCREENSHOTS.
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const carelog = env('CARELOG_URL');
const issuer = env('ISSUER');
const childPage = `${carelog}/inspect/children/${env('CHILD_ID')}`;
const shots = env('SCREENSHOTS');
const seen = (what, value) => console.log(JSON.stringify({ what, ...value }));

const browser = await chromium.launch({ executablePath: env('CHROMIUM'), headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();

  // A page opened without a session goes to the provider's sign-in form.
  await page.goto(childPage);
  seen('signin form', { url: page.url(), login: await page.locator('input[name=login]').count() });
  await page.fill('input[name=login]', env('LOGIN'));
  await page.fill('input[name=password]', 'any password: the test provider takes any');
  await Promise.all([page.waitForURL(childPage), page.click('button[type=submit]')]);

  const [session] = (await context.cookies(childPage)).filter((c) => c.name === 'carelog_session');
  seen('cookie', { httpOnly: session?.httpOnly, sameSite: session?.sameSite, path: session?.path, expires: session?.expires });
  seen('child page', {
    url: page.url(),
    heading: await page.locator('h1').innerText(),
    viewer: await page.locator('p.viewer').innerText(),
    meta: await page.locator('p.meta').first().innerText(),
    entries: await page.locator('ol.timeline li').allInnerTexts(),
  });
  await page.screenshot({ path: `${shots}/inspector-child.png`, fullPage: true });

  await page.goto(`${carelog}/inspect/kpis?months=3`);
  seen('kpi page', {
    heading: await page.locator('h1').innerText(),
    rows: await page.locator('table tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.innerText))),
  });
  await page.screenshot({ path: `${shots}/inspector-kpis.png`, fullPage: true });

  // The session is for the pages only: the API and its writes, from the same signed-in browser
  // (its cookies; the pages' own policy lets no script run), still want a bearer token.
  const api = context.request;
  seen('api from the browser', {
    read: (await api.get(`${carelog}/v1/children`)).status(),
    write: (await api.post(`${carelog}/v1/children`, { data: {} })).status(),
    headers: (await api.get(childPage)).headers(),
  });

  await Promise.all([page.waitForURL(`${carelog}/signout`), page.click('a[href="/signout"]')]);
  seen('signed out', {
    text: await page.locator('h1').innerText(),
    cookies: (await context.cookies(childPage)).map((c) => c.name).filter((n) => n.startsWith('carelog')),
  });

  // Another browser, no session: sent to sign in, never shown the page.
  const stranger = await browser.newContext();
  const answer = await stranger.request.get(`${carelog}/inspect/kpis`, { maxRedirects: 0 });
  seen('no session', { status: answer.status(), location: answer.headers().location ?? null });
  seen('provider', { issuer });
} finally {
  await browser.close();
}
console.log('signin done');
