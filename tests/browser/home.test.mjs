// Browser tests of the home page `/` (web/home_page.h): a fresh `breakwater serve` shows the
// first-run page, which turns into the home page by itself once the first crash is processed;
// the chart's bars carry the same counts as /api/SuperSearch/; the newest crash links to its
// report; the page fits a phone; a hostile product name is text. Screenshots: first-run, home,
// home-phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, startSite } from './harness.mjs';

let site;
let baseUrl;
let firstId;

before(async () => {
  site = await startSite();
  baseUrl = site.baseUrl;
});

after(async () => {
  if (site) await site.stop();
});

// "YYYY-MM-DD" of the first day of the 14-day period ending today (UTC).
function firstDay() {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - 13);
  return d.toISOString().slice(0, 10);
}

test('a fresh site shows the first-run page, which becomes the home page when the first crash arrives', async () => {
  // Tall enough for the screenshot to show the newest crashes under the chart.
  const page = await site.newPage({ width: 1280, height: 1000 });
  const res = await page.goto(`${baseUrl}/`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').innerText(), 'No crashes yet');
  // The commands name this very server's submit URL (from the Host header).
  const codes = await page.locator('.first-run pre code').allInnerTexts();
  assert.equal(codes[0], `curl -F upload_file_minidump=@crash.dmp -F ProductName=MyApp -F Version=1.0 ${baseUrl}/submit`);
  assert.match(codes[1], new RegExp(`^breakwater submit ${baseUrl}/submit crash\\.dmp --annotation ProductName=MyApp`));
  assert.equal(await page.locator('code.submit-url').innerText(), `${baseUrl}/submit`);
  // home.js runs (the CSP allows it) and says it is waiting.
  await page.waitForFunction(() => /Waiting for the first crash/.test(document.getElementById('first-run-status').textContent));
  await screenshot(page, 'first-run');

  // The page is left open; a crash is sent as a client would.
  const sent = Date.now();
  firstId = await site.submit('linux_inline.dmp', { ProductName: 'BreakwaterTest', Version: '1.0' });
  await page.waitForFunction(() => /^Crashes in the last 14 days$/.test(document.querySelector('h1')?.textContent || ''),
    null, { timeout: 15000 });
  const took = Date.now() - sent;
  assert.ok(took < 12000, `the page took ${took} ms to turn into the home page`);
  assert.equal(new URL(page.url()).pathname, '/');

  // The product, its top crashers link and its chart.
  const productRow = page.locator('table.products tbody tr');
  assert.equal(await productRow.count(), 1);
  assert.equal(await productRow.locator('th').innerText(), 'BreakwaterTest');
  assert.equal(await productRow.locator('td.num').innerText(), '1');
  assert.equal(await productRow.locator('a.topcrashers').getAttribute('href'), '/topcrashers/?product=BreakwaterTest&days=14');
  const svg = page.locator('svg.home-chart[data-product="BreakwaterTest"]');
  assert.equal(await svg.count(), 1);
  // Direct children of the <svg>: nothing before them swallowed them (an unclosed SVG element would).
  const bars = await svg.locator(':scope > g.bar').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-day'), Number(g.getAttribute('data-count'))]));
  assert.equal(bars.length, 14);
  // The same numbers as the API gives for the product.
  const api = await site.json(`/api/SuperSearch/?product=BreakwaterTest&date=%3E%3D${firstDay()}&_histogram.date=version&_facets=&_results_number=0`);
  const want = Object.fromEntries(api.facets.histogram_date.map((b) => [b.term.slice(0, 10), b.count]));
  for (const [day, count] of bars) assert.equal(count, want[day] || 0, `bar of ${day}`);
  assert.equal(bars.reduce((s, [, c]) => s + c, 0), api.total);
  assert.equal(api.total, 1);
  // The bar of today is one version segment with its readable title.
  const today = new Date().toISOString().slice(0, 10);
  assert.equal(await svg.locator(`g.bar[data-day="${today}"] rect title`).textContent(), `${today}, version 1.0: 1 crash`);
  assert.deepEqual(await page.locator('ul.legend li').allInnerTexts(), ['1.0']);
  // The bar is drawn: the day's only crash is the chart's full height.
  const box = await svg.locator(`g.bar[data-day="${today}"] rect`).boundingBox();
  assert.ok(box && box.height > 100 && box.width > 10, JSON.stringify(box));
  assert.ok(await svg.locator('text.axis').first().isVisible());

  // The newest crash links to its report.
  const row = page.locator('table.newest tbody tr').first();
  assert.equal(await row.locator('td.crash-id a').innerText(), firstId);
  assert.match(await row.locator('td.signature a').getAttribute('href'), /^\/signature\/\?signature=/);
  await screenshot(page, 'home');
  await row.locator('td.crash-id a').click();
  await page.waitForURL(`${baseUrl}/report/index/${firstId}`);
  assert.equal(await page.locator('td.signature a').innerText(), await page.locator('h1').innerText());
  await page.close();
});

test('the home page fits a phone screen and switches to 28 days', async () => {
  const page = await site.newPage({ width: 390, height: 844 });
  await page.goto(`${baseUrl}/`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await screenshot(page, 'home-phone');
  await page.getByRole('link', { name: 'last 28 days' }).click();
  await page.waitForURL(`${baseUrl}/?days=28`);
  assert.equal(await page.locator('h1').innerText(), 'Crashes in the last 28 days');
  assert.equal(await page.locator('svg.home-chart g.bar').count(), 28);
  const bad = await page.goto(`${baseUrl}/?days=7`);
  assert.equal(bad.status(), 400);
  assert.match(await page.locator('main').innerText(), /days/);
  await page.close();
});

test('a hostile product name is shown as text and runs nothing', async () => {
  const hostile = '<script>alert(1)</script>';
  const id = await site.submit('linux_inline.dmp', { ProductName: hostile, Version: '"><img src=x onerror=alert(2)>' });
  await site.waitIndexed(id);
  const page = await site.newPage();
  const dialogs = [];
  page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
  await page.goto(`${baseUrl}/`);
  const names = await page.locator('table.products tbody th').allInnerTexts();
  assert.ok(names.includes(hostile), JSON.stringify(names));
  assert.equal(await page.locator('table.newest tbody tr').first().locator('td').nth(1).innerText(), hostile);
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.locator('main script').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, []);
  await page.close();
});

test('other paths are still the 404 page', async () => {
  const res = await fetch(`${baseUrl}/no/such/page`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /Page not found/);
});
