// Browser tests of the Top crashers and Signature pages: a real `breakwater serve` with crashes
// of three signatures and two versions submitted as a client would; the pages' numbers are
// checked against /api/TopCrashers/ and /api/SuperSearch/ for the same parameters, the links and
// the column sorting are clicked, and hostile parameters stay text. Screenshots: topcrashers,
// signature, signature-chart, signature-correlations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, startSite } from './harness.mjs';

const PRODUCT = 'BreakwaterTop';
let site;
let baseUrl;
// Crash ids by dump.
const ids = {};

// The cells of the body rows of the first table matching `selector`.
async function rows(page, selector) {
  return page.locator(`${selector} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td, th')).map((c) => c.textContent.trim())));
}

const grouped = (n) => n.toLocaleString('en-US');
const percent = (x) => `${x.toFixed(2)} %`;

async function noHorizontalOverflow(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `page scrolls sideways: ${scroll} > ${client}`);
}

before(async () => {
  site = await startSite();
  baseUrl = site.baseUrl;
  // Three signatures: 3 + 2 + 1 crashes; versions 1.0 and 2.0.
  const plan = [
    ['linux_inline.dmp', '1.0'], ['linux_inline.dmp', '1.0'], ['linux_inline.dmp', '2.0'],
    ['linux_null_dereference.dmp', '2.0'], ['linux_null_dereference.dmp', '2.0'],
    ['linux_divide_by_zero.dmp', '1.0'],
  ];
  const submitted = [];
  for (const [dump, version] of plan) {
    const id = await site.submit(dump, { ProductName: PRODUCT, Version: version, ReleaseChannel: 'nightly' });
    (ids[dump] ||= []).push(id);
    submitted.push(id);
  }
  for (const id of submitted) await site.waitIndexed(id);
});

after(async () => {
  if (site) await site.stop();
});

test('top crashers: the product list links to a table equal to /api/TopCrashers/', async () => {
  const page = await site.newPage();
  // No product: the products with crashes, each a link.
  let res = await page.goto(`${baseUrl}/topcrashers/`);
  assert.equal(res.status(), 200);
  await page.getByRole('link', { name: PRODUCT }).click();
  await page.waitForURL(/product=BreakwaterTop/);

  const api = await site.json(`/api/TopCrashers/?product=${PRODUCT}&days=7`);
  assert.equal(api.total, 6);
  assert.equal(api.crashers.length, 3);
  const table = await rows(page, 'table.topcrashers');
  assert.equal(table.length, api.crashers.length);
  api.crashers.forEach((c, i) => {
    const [rank, change, signature, count, pct, platforms, firstSeen] = table[i];
    assert.equal(rank, String(c.rank));
    assert.equal(change, 'new'); // nothing in the previous period
    assert.equal(signature, c.signature);
    assert.equal(count, grouped(c.count));
    assert.equal(pct, percent(c.percentage));
    for (const [name, n] of Object.entries(c.platforms)) assert.ok(platforms.includes(`${name || 'unknown'} ${n}`), platforms);
    assert.equal(firstSeen, c.first_seen);
  });
  assert.deepEqual(api.crashers.map((c) => c.count), [3, 2, 1]);
  await screenshot(page, 'topcrashers');

  // The form submits by GET: a version narrows the table as the API's version does.
  await page.fill('#tc-version', '2.0');
  await page.selectOption('#tc-days', '3');
  await Promise.all([page.waitForURL(/version=2\.0/), page.getByRole('button', { name: 'Show' }).click()]);
  assert.match(page.url(), /days=3/);
  const v2 = await site.json(`/api/TopCrashers/?product=${PRODUCT}&version=2.0&days=3`);
  const narrowed = await rows(page, 'table.topcrashers');
  assert.deepEqual(narrowed.map((r) => [r[2], r[3]]), v2.crashers.map((c) => [c.signature, grouped(c.count)]));

  // A phone: the table scrolls inside its box, the page does not.
  const phone = await site.newPage({ width: 390, height: 844 });
  await phone.goto(`${baseUrl}/topcrashers/?product=${PRODUCT}`);
  await noHorizontalOverflow(phone);
  await phone.close();
  await page.close();
});

test('signature: one click from top crashers; summary equals _facets; sorting equals _sort', async () => {
  const page = await site.newPage();
  await page.goto(`${baseUrl}/topcrashers/?product=${PRODUCT}`);
  const top = (await site.json(`/api/TopCrashers/?product=${PRODUCT}`)).crashers[0];
  await Promise.all([page.waitForURL(/\/signature\/\?signature=/), page.locator('table.topcrashers td.signature a').first().click()]);
  assert.equal(await page.locator('h1').innerText(), top.signature);
  assert.equal(await page.locator('#signature-total').innerText(), String(top.count));

  // The summary: every table equals the facet of the same search.
  const fields = ['product', 'version', 'platform', 'platform_version', 'cpu_arch', 'reason', 'build_id', 'process_type', 'release_channel'];
  const q = `signature=${encodeURIComponent('=' + top.signature)}&product=${PRODUCT}`;
  const search = await site.json(`/api/SuperSearch/?${q}&_facets=${fields.join(',')}&_results_number=0`);
  assert.equal(search.total, top.count);
  for (const field of fields) {
    const shown = await rows(page, `table.facet-table[data-field="${field}"]`);
    const facet = search.facets[field] || [];
    assert.deepEqual(shown.map((r) => [r[0], r[1], r[2]]),
      facet.map((b) => [String(b.term), grouped(b.count), percent(100 * b.count / search.total)]), field);
  }
  await screenshot(page, 'signature');
  // The chart: one stacked bar a day, one rectangle per version with crashes that day.
  const bars = page.locator('svg.day-chart rect');
  assert.equal(await bars.count(), 2); // versions 1.0 and 2.0, today
  for (const bar of await bars.all()) {
    const box = await bar.boundingBox(); // null when the browser does not draw it
    assert.ok(box && box.height > 10 && box.width > 1, JSON.stringify(box));
  }
  await page.evaluate(() => document.getElementById('per-day').scrollIntoView());
  await screenshot(page, 'signature-chart');

  // Correlations: against every crash of the product; version 1.0 is 2 of 3 here, 3 of 6 overall.
  await page.locator('#correlations').scrollIntoViewIfNeeded();
  const corr = await rows(page, 'table.correlations');
  const v1 = corr.find((r) => r[0] === 'version' && r[1] === '1.0');
  const all = await site.json(`/api/SuperSearch/?product=${PRODUCT}&_facets=version&_results_number=0`);
  const sigV = search.facets.version.find((b) => b.term === '1.0');
  const allV = all.facets.version.find((b) => b.term === '1.0');
  const ratio = (sigV.count / search.total) / (allV.count / all.total);
  if (ratio > 1) {
    assert.ok(v1, JSON.stringify(corr));
    assert.deepEqual(v1.slice(2), [grouped(sigV.count), percent(100 * sigV.count / search.total), grouped(allV.count),
      percent(100 * allV.count / all.total), `${ratio.toFixed(2)}×`]);
  } else {
    assert.equal(v1, undefined);
  }
  await page.evaluate(() => document.getElementById('correlations').scrollIntoView());
  await screenshot(page, 'signature-correlations');

  // Sorting: the crash id header sorts ascending, then descending, as the API's _sort.
  const idsShown = async () => (await rows(page, 'table.reports')).map((r) => r[4]);
  const apiIds = async (sort) =>
    (await site.json(`/api/SuperSearch/?${q}&_sort=${sort}&_columns=uuid&_facets=`)).hits.map((h) => h.uuid);
  assert.deepEqual(await idsShown(), await apiIds('-date'));
  await Promise.all([page.waitForURL(/_sort=uuid/), page.locator('table.reports th a[data-sort="uuid"]').click()]);
  assert.deepEqual(await idsShown(), await apiIds('uuid'));
  await Promise.all([page.waitForURL(/_sort=-uuid/), page.locator('table.reports th a[data-sort="-uuid"]').click()]);
  assert.deepEqual(await idsShown(), await apiIds('-uuid'));
  // A crash id opens its report.
  const first = (await idsShown())[0];
  await Promise.all([page.waitForURL(new RegExp(`/report/index/${first}$`)), page.getByRole('link', { name: first }).click()]);

  const phone = await site.newPage({ width: 390, height: 844 });
  await phone.goto(`${baseUrl}/signature/?${q}`);
  await noHorizontalOverflow(phone);
  await phone.close();
  await page.close();
});

test('signature: a hostile signature is text, a missing one a 400, an unknown one an empty page', async () => {
  const page = await site.newPage();
  let dialogs = 0;
  page.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });
  const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>';
  const res = await page.goto(`${baseUrl}/signature/?signature=${encodeURIComponent(hostile)}`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').innerText(), hostile);
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.locator('main script').count(), 0);
  assert.match(await page.locator('main').innerText(), /No crashes/);
  assert.equal(dialogs, 0);

  const missing = await page.goto(`${baseUrl}/signature/`);
  assert.equal(missing.status(), 400);
  assert.match(await page.locator('h1').innerText(), /signature/);
  const bad = await page.goto(`${baseUrl}/topcrashers/?product=${PRODUCT}&days=5`);
  assert.equal(bad.status(), 400);
  assert.match(await page.locator('h1').innerText(), /days/);
  await page.close();
});
