// Browser tests of the search page (/search/, web/search_page.h): a real `breakwater serve` with
// crashes of two products and versions from different dumps, searched in headless Chromium. After
// every step the rows shown (crash ids, in order) must be what /api/SuperSearch/ answers for the
// page's own query string: the page and the API are one search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { screenshot, startSite } from './harness.mjs';

let site;
let baseUrl;
const ids = {};

// The crash ids the page shows, in order, against the API's answer for the page's query string.
async function expectRowsMatchApi(page) {
  const search = new URL(page.url()).search;
  const api = await site.json(`/api/SuperSearch/${search}`);
  const shown = await page.locator('table.search-results tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-crash-id')));
  assert.deepEqual(shown, api.hits.map((h) => h.uuid), `rows of ${search}`);
  assert.equal(Number(await page.locator('#search-total').getAttribute('data-total')), api.total, `total of ${search}`);
  // The page's JSON link is the same search.
  const jsonHref = await page.locator('#search-json').getAttribute('href');
  if (search) assert.equal(jsonHref, `/api/SuperSearch/${search}`);
  return api;
}

before(async () => {
  site = await startSite();
  baseUrl = site.baseUrl;
  const crashes = [
    ['alpha1a', 'linux_inline.dmp', { ProductName: 'Alpha', Version: '1.0' }],
    ['alpha1b', 'linux_null_dereference.dmp', { ProductName: 'Alpha', Version: '1.0' }],
    ['alpha1c', 'linux_divide_by_zero.dmp', { ProductName: 'Alpha', Version: '1.0' }],
    ['alpha2', 'linux_jmp_to_0.dmp', { ProductName: 'Alpha', Version: '2.0' }],
    ['beta1', 'linux_overflow.dmp', { ProductName: 'Beta', Version: '1.0' }],
    ['hostile', 'linux_inline.dmp', { ProductName: 'Beta', Version: '"><img src=x onerror=alert(1)><script>alert(2)</script>' }],
  ];
  for (const [name, dump, annotations] of crashes) ids[name] = await site.submit(dump, annotations);
  for (const id of Object.values(ids)) await site.waitIndexed(id, 180000);
});

after(async () => {
  if (site) await site.stop();
});

test('the form searches with two filters, a column header sorts, a facet term filters: always the API\'s rows', async () => {
  const page = await site.newPage();
  page.on('dialog', () => assert.fail('a dialog opened: some value ran as script'));
  const res = await page.goto(`${baseUrl}/search/`);
  assert.equal(res.status(), 200);
  const all = await expectRowsMatchApi(page);
  assert.equal(all.total, 6);
  assert.equal(await page.locator('figure.histogram rect.bar').count() >= 1, true);

  // Two filters from the form: product is Alpha, version is 1.0.
  await page.selectOption('#f0', 'product');
  await page.selectOption('#o0', '=');
  await page.fill('#v0', 'Alpha');
  await page.selectOption('#f1', 'version');
  await page.selectOption('#o1', '=');
  await page.fill('#v1', '1.0');
  await Promise.all([page.waitForURL(/\/search\/\?product=/), page.click('button[type=submit]')]);
  const url = new URL(page.url());
  // search.js built the canonical query: no form-row parameters.
  assert.match(url.search, /^\?product=%3DAlpha&version=%3D1\.0&/);
  assert.doesNotMatch(url.search, /[?&][fov][0-9]+=/);
  const two = await expectRowsMatchApi(page);
  assert.equal(two.total, 3);
  assert.deepEqual(new Set(two.hits.map((h) => h.uuid)), new Set([ids.alpha1a, ids.alpha1b, ids.alpha1c]));
  // The filters are back in the form.
  assert.equal(await page.inputValue('#v0'), 'Alpha');
  assert.equal(await page.inputValue('#f1'), 'version');
  await screenshot(page, 'search');

  // Sort by signature, then again for descending.
  await Promise.all([page.waitForURL(/_sort=signature/), page.click('th[data-field="signature"] a.sort-link')]);
  await expectRowsMatchApi(page);
  assert.equal(await page.getAttribute('th[data-field="signature"]', 'aria-sort'), 'ascending');
  const ascending = await page.locator('table.search-results td.signature').allInnerTexts();
  assert.deepEqual(ascending, [...ascending].sort());
  await Promise.all([page.waitForURL(/_sort=-signature/), page.click('th[data-field="signature"] a.sort-link')]);
  await expectRowsMatchApi(page);
  assert.equal(await page.getAttribute('th[data-field="signature"]', 'aria-sort'), 'descending');
  assert.deepEqual(await page.locator('table.search-results td.signature').allInnerTexts(), [...ascending].reverse());

  // A signature facet term adds signature==term.
  const facet = page.locator('section[data-facet="signature"] a.facet-term').first();
  const term = await facet.innerText();
  await Promise.all([page.waitForURL(/signature=%3D/), facet.click()]);
  const filtered = await expectRowsMatchApi(page);
  assert.ok(filtered.total >= 1);
  for (const hit of filtered.hits) assert.equal(hit.signature, term);
  assert.equal(new URL(page.url()).searchParams.getAll('signature').at(-1), `=${term}`);
  await screenshot(page, 'search-facet');
  await page.close();
});

test('hostile values in a filter and in crashes are shown as text', async () => {
  const page = await site.newPage();
  page.on('dialog', () => assert.fail('a dialog opened: some value ran as script'));
  await page.goto(`${baseUrl}/search/`);
  await page.selectOption('#f0', 'signature');
  await page.selectOption('#o0', '!~');
  await page.fill('#v0', '<script>alert(3)</script>');
  await page.selectOption('#f1', 'product');
  await page.fill('#v1', 'Beta');
  await Promise.all([page.waitForURL(/signature=/), page.click('button[type=submit]')]);
  await expectRowsMatchApi(page);
  assert.equal(await page.inputValue('#v0'), '<script>alert(3)</script>');
  assert.equal(await page.locator('script:not([src])').count(), 0);
  assert.equal(await page.locator('main img').count(), 0);
  // The hostile version is a facet term, as text.
  const versions = await page.locator('section[data-facet="version"] a.facet-term').allInnerTexts();
  assert.ok(versions.includes('"><img src=x onerror=alert(1)><script>alert(2)</script>'), versions.join(' | '));
  // And following it searches for exactly that value.
  await Promise.all([page.waitForURL(/version=%3D/),
    page.locator('section[data-facet="version"] a.facet-term', { hasText: 'onerror' }).click()]);
  const api = await expectRowsMatchApi(page);
  assert.deepEqual(api.hits.map((h) => h.uuid), [ids.hostile]);
  await page.close();
});

test('without JavaScript the form redirects to the same canonical search; bad queries are a 400 with the form', async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/search/`);
    await page.selectOption('#f0', 'product');
    await page.fill('#v0', 'Alpha');
    await page.selectOption('#f2', 'version');
    await page.selectOption('#o2', '=');
    await page.fill('#v2', '2.0');
    await Promise.all([page.waitForURL(/\/search\/\?product=/), page.click('button[type=submit]')]);
    assert.match(page.url(), /\/search\/\?product=%3DAlpha&version=%3D2\.0&_columns=uuid&/);
    const api = await expectRowsMatchApi(page);
    assert.deepEqual(api.hits.map((h) => h.uuid), [ids.alpha2]);
    await context.close();
  } finally {
    await browser.close();
  }

  // The row parameters themselves: a 303 to the canonical query.
  const res = await fetch(`${baseUrl}/search/?f0=product&o0=%3D&v0=Beta&f1=&o1=%3D&v1=&_facets=`, { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/search/?product=%3DBeta&_facets=');

  // A field that does not exist, and a protected one: 400 pages naming it, with the form.
  const page = await site.newPage();
  for (const field of ['nosuchfield', 'url']) {
    const bad = await page.goto(`${baseUrl}/search/?${field}=x`);
    assert.equal(bad.status(), 400);
    assert.equal(await page.locator('#search-error code').innerText(), field);
    assert.equal(await page.locator('#search-form').count(), 1);
  }

  // A phone: nothing wider than the screen (the table scrolls inside its box).
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${baseUrl}/search/`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `page is ${overflow}px wide at 390px`);
  await page.close();
});
