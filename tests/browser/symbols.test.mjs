// Browser tests of the symbols pages (web/symbols_pages.h) on a real `breakwater serve`: a Firefox
// crash whose modules have no symbols in the corpus is submitted and processed; /symbols/missing/
// lists exactly the modules /api/MissingSymbols/ lists, with the same counts and the store path
// to upload each under; its "Symbols stored" link leads to /symbols/uploads/, which says the
// site's own store is empty. Screenshots: symbols-missing, symbols-missing-phone, symbols-uploads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, startSite } from './harness.mjs';

let site;
let baseUrl;

before(async () => {
  site = await startSite();
  baseUrl = site.baseUrl;
  const id = await site.submit('firefox-windows-x86_64.dmp', { ProductName: 'BreakwaterSymbols', Version: '1.0' });
  await site.waitIndexed(id);
});

after(async () => {
  if (site) await site.stop();
});

test('the missing-symbols page lists what the API lists, with the path to upload each under', async () => {
  const api = await (await fetch(`${baseUrl}/api/MissingSymbols/?days=1`)).json();
  assert.ok(api.total >= 1, `the crash missed no symbols: ${JSON.stringify(api)}`);
  const page = await site.newPage({ width: 1280, height: 1000 });
  const res = await page.goto(`${baseUrl}/symbols/missing/?days=1`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').innerText(), 'Missing symbols');
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Symbols');
  const rows = await page.locator('table.missing-symbols tbody tr').evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim())));
  assert.equal(rows.length, api.hits.length);
  for (let i = 0; i < rows.length; i += 1) {
    const [debugFile, debugId, codeFile, codeId, crashes, , uploadAs] = rows[i];
    const hit = api.hits[i];
    assert.equal(debugFile, hit.debug_file);
    assert.equal(debugId, hit.debug_id);
    assert.equal(codeFile, hit.code_file);
    assert.equal(codeId, hit.code_id);
    assert.equal(Number(crashes.replace(/,/g, '')), hit.crashes);
    assert.ok(uploadAs.startsWith(`${hit.debug_file}/${hit.debug_id}/`), uploadAs);
    assert.ok(uploadAs.endsWith('.sym'), uploadAs);
  }
  const csv = await page.locator('a', { hasText: 'CSV' }).getAttribute('href');
  const csvText = await (await fetch(`${baseUrl}${csv}`)).text();
  assert.equal(csvText.trim().split('\r\n').length, api.hits.length + 1, 'one CSV line per module and a header');
  await screenshot(page, 'symbols-missing');

  const phone = await site.newPage({ width: 390, height: 844 });
  await phone.goto(`${baseUrl}/symbols/missing/?days=1`);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone`);
  await screenshot(phone, 'symbols-missing-phone');

  await page.locator('a', { hasText: 'Symbols stored' }).click();
  await page.waitForURL(`${baseUrl}/symbols/uploads/`);
  assert.equal(await page.locator('h1').innerText(), 'Symbols stored');
  assert.equal(await page.locator('.empty-state h2').innerText(), 'No symbols yet');
  await screenshot(page, 'symbols-uploads');
});

test('a bad parameter is a 400 page that names it', async () => {
  const page = await site.newPage({ width: 1280, height: 700 });
  const res = await page.goto(`${baseUrl}/symbols/missing/?days=999`);
  assert.equal(res.status(), 400);
  assert.match(await page.locator('main').innerText(), /days must be between 1 and 365/);
});
