// Browser tests of the report page: a real `breakwater serve` (collector, storage, queue,
// processors, web app) with the shared corpus' symbols, crashes submitted as a client would, and
// pages read in headless Chromium (harness.mjs). Each test saves a screenshot as an artifact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPORT_DEADLINE_MS, TESTDATA, screenshot, sleep, startSite } from './harness.mjs';

let site;
let baseUrl;
let context;
const submit = (...args) => site.submit(...args);
const waitState = (...args) => site.waitState(...args);
const waitStored = (...args) => site.waitStored(...args);

// The value cell of a row of the details table, by its exact label.
function detail(page, label) {
  return page.locator('table.details tr', { has: page.locator('th', { hasText: new RegExp(`^${label}$`) }) }).locator('td');
}

before(async () => {
  // One product is deferred: stored, processed only when someone asks (the report page does).
  site = await startSite({
    config: [
      '[[collector.throttle_rules]]',
      'name = "defer_test_product"',
      'key = "ProductName"',
      'condition = "equals"',
      'value = "DeferMe"',
      'result = "DEFER"',
      '',
    ].join('\n'),
  });
  baseUrl = site.baseUrl;
  context = site.context;
});

after(async () => {
  if (site) await site.stop();
});

test('report page shows the crashing thread with functions, files and lines, and the raw JSON links work', async () => {
  const id = await submit('linux_inline.dmp', { ProductName: 'BreakwaterTest', Version: '1.0', ReleaseChannel: 'nightly' });
  await waitState(id, 'processed', 60000);
  const page = await context.newPage();
  const res = await page.goto(`${baseUrl}/report/index/${id}`);
  assert.equal(res.status(), 200);
  // Frame 0 is main() with func(), bar() and foo() inlined into it: the inlined calls come
  // first, innermost first, each with its own file and line.
  const crashing = page.locator('table.frames').first();
  const firstRow = crashing.locator('tbody tr').first();
  assert.equal(await firstRow.locator('td.function').innerText(), 'func()');
  assert.match(await firstRow.locator('td.source').innerText(), /linux_inline\.cpp:27$/);
  assert.equal(await firstRow.locator('td.trust').innerText(), 'inlined');
  const firstFrame = crashing.locator('tr.frame').first();
  assert.equal(await firstFrame.locator('td.function').innerText(), 'main');
  assert.match(await firstFrame.locator('td.source').innerText(), /a\.cpp:42$/);
  assert.equal(await firstFrame.locator('td.trust').innerText(), 'context');
  const functions = await page.locator('table.frames').first().locator('td.function').allInnerTexts();
  assert.deepEqual(functions.slice(0, 4), ['func()', 'bar()', 'foo()', 'main']);
  assert.equal(await page.locator('h1').innerText(), await page.locator('td.signature a').innerText());
  assert.match(await page.locator('td.signature a').getAttribute('href'), /^\/signature\/\?signature=/);
  await screenshot(page, 'report');
  await page.evaluate(() => document.getElementById('crashing-thread').scrollIntoView());
  await screenshot(page, 'report-frames');

  // The raw data links answer JSON for this crash.
  const processedHref = await page.getByRole('link', { name: 'Processed crash (JSON)' }).getAttribute('href');
  const rawHref = await page.getByRole('link', { name: 'Raw crash annotations (JSON)' }).getAttribute('href');
  const processed = await (await page.goto(baseUrl + processedHref)).json();
  assert.equal(processed.uuid, id);
  assert.equal(processed.product, 'BreakwaterTest');
  const raw = await (await page.goto(baseUrl + rawHref)).json();
  assert.equal(raw.ProductName, 'BreakwaterTest');
  assert.equal(raw.uuid, id);

  // Keyboard: the first Tab lands on the skip link, which is then visible.
  await page.goto(`${baseUrl}/report/index/bp-${id}`);
  assert.equal(new URL(page.url()).pathname, `/report/index/${id}`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to main content');
  assert.ok(await page.locator('.skip-link').isVisible());

  // A phone-sized screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${baseUrl}/report/index/${id}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await screenshot(page, 'report-phone');
  await page.close();
});

test('Mozilla symbols give source links to the revision', async () => {
  const annotations = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'annotations', 'firefox-windows-x86_64.json')));
  const textual = {};
  for (const [k, v] of Object.entries(annotations)) textual[k] = typeof v === 'string' ? v : JSON.stringify(v);
  const id = await submit('firefox-windows-x86_64.dmp', textual);
  await waitState(id, 'processed', 120000);
  const page = await context.newPage();
  await page.goto(`${baseUrl}/report/index/${id}`);
  const link = page.locator('table.frames').first().locator('td.source a[href^="https://hg.mozilla.org/"]').first();
  const href = await link.getAttribute('href');
  assert.match(href, /^https:\/\/hg\.mozilla\.org\/[\w./-]+\/file\/[0-9a-f]{12,40}\/[\w./%-]+#l\d+$/);
  assert.match(await link.innerText(), /\.(cpp|h|c|cc):\d+$/);
  assert.ok(await page.locator('table.modules .badge.warn').count() > 0, 'modules without symbols are marked');
  await page.evaluate(() => document.getElementById('crashing-thread').scrollIntoView());
  await screenshot(page, 'report-firefox');
  await page.close();
});

test(`a deferred crash shows as pending and turns into the report by itself within ${REPORT_DEADLINE_MS} ms`, async () => {
  const id = await submit('linux_inline.dmp', { ProductName: 'DeferMe', Version: '2.0' });
  assert.equal(id[29], '1', `the throttler did not defer ${id}`);
  await waitStored(id);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1000, height: 700 });
  let navigations = 0;
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations += 1; });
  await page.goto(`${baseUrl}/report/index/${id}`);
  assert.ok(await page.locator('#pending').isVisible(), 'the pending page is shown first');
  await screenshot(page, 'pending');
  const started = Date.now();
  await page.locator('table.frames').first().waitFor({ timeout: REPORT_DEADLINE_MS });
  const took = Date.now() - started;
  assert.equal(await page.locator('#pending').count(), 0);
  assert.equal(await page.locator('table.frames').first().locator('td.function').first().innerText(), 'func()');
  assert.equal(navigations, 1, 'the report replaced the pending content without reloading');
  assert.match(await page.title(), /func/);
  await screenshot(page, 'pending-done');
  console.log(`deferred crash turned into its report ${took} ms after the pending page loaded`);
  await page.close();
});

test('hostile annotation values are shown escaped and cut, never run', async () => {
  const big = 'A'.repeat(1024 * 1024);
  const id = await submit('linux_inline.dmp', {
    ProductName: '<script>alert(1)</script>',
    Version: '"><img src=x onerror=alert(1)>',
    ReleaseChannel: big,
  });
  await waitState(id, 'processed', 60000);
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
  const res = await page.goto(`${baseUrl}/report/index/${id}`);
  assert.equal(res.status(), 200);
  await page.waitForLoadState('load');
  await sleep(300);
  assert.deepEqual(dialogs, []);
  assert.equal(await page.locator('img').count(), 0, 'no injected element');
  assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script');
  assert.equal(await detail(page, 'Product').innerText(), '<script>alert(1)</script>');
  assert.equal(await detail(page, 'Version').innerText(), '"><img src=x onerror=alert(1)>');
  const channel = await detail(page, 'Release channel').innerText();
  assert.ok(channel.length < 5000, `a 1 MB value is cut (shown: ${channel.length} characters)`);
  assert.match(channel, /1048576 bytes in all/);
  const html = await res.text();
  assert.ok(html.length < 256 * 1024, `page is ${html.length} bytes`);
  await screenshot(page, 'hostile');
  await page.close();
});

test('unknown and malformed crash ids get honest error pages', async () => {
  const page = await context.newPage();
  let res = await page.goto(`${baseUrl}/report/index/de1bb258-cbbf-4589-a673-34f800160918`);
  assert.equal(res.status(), 404);
  assert.equal(await page.locator('h1').innerText(), 'Crash not found');
  await screenshot(page, 'not-found');
  res = await page.goto(`${baseUrl}/report/index/not-a-crash-id`);
  assert.equal(res.status(), 400);
  assert.equal(await page.locator('h1').innerText(), 'Not a crash id');
  await screenshot(page, 'malformed');
  res = await page.goto(`${baseUrl}/no/such/page`);
  assert.equal(res.status(), 404);
  assert.equal(await page.locator('h1').innerText(), 'Page not found');
  await page.close();
});
