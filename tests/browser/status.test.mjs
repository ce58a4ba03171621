// Browser tests of the status page `/status/` and the API documentation page `/api/`
// (web/status_page.h, web/api_docs_page.h) on a real `breakwater serve`: two crashes are submitted
// as a client would and processed; the status page's figures equal /metrics of the same server
// and its "last hour" counts the two crashes; storage use has a row per area; every example link of the API page answers the
// status it documents, and clicking one opens that crash's JSON. Screenshots: status,
// status-phone, api.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, startSite } from './harness.mjs';

const PRODUCT = 'BreakwaterStatus';
let site;
let baseUrl;
const ids = [];

// /metrics text → {series: value as written}.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

before(async () => {
  site = await startSite();
  baseUrl = site.baseUrl;
  for (const dump of ['linux_inline.dmp', 'linux_null_dereference.dmp']) {
    ids.push(await site.submit(dump, { ProductName: PRODUCT, Version: '1.0' }));
  }
  for (const id of ids) await site.waitIndexed(id);
});

after(async () => {
  if (site) await site.stop();
});

test('the status page shows the numbers of /metrics, and the last hour counts the crashes sent', async () => {
  const page = await site.newPage({ width: 1280, height: 1100 });
  const res = await page.goto(`${baseUrl}/status/`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').innerText(), 'Status');
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Status');
  const cells = await page.locator('td[data-series]').evaluateAll((tds) =>
    tds.map((td) => ({ series: td.dataset.series, value: td.dataset.value, window: td.dataset.window })));
  const metrics = parseMetrics(await (await fetch(`${baseUrl}/metrics`)).text());

  // Every figure is its /metrics series' value (HTTP series move with these very requests).
  let compared = 0;
  for (const c of cells) {
    if (c.series.startsWith('bw_http_')) continue;
    assert.ok(c.series in metrics, `${c.series} is not in /metrics`);
    assert.equal(c.value, metrics[c.series], c.series);
    compared += 1;
  }
  assert.ok(compared >= 15, `only ${compared} figures compared`);

  // What this test did: two submissions received and stored, two crashes processed, queues empty.
  const byseries = Object.fromEntries(cells.map((c) => [c.series, c]));
  assert.equal(byseries.bw_collector_received_total.window, '2');
  assert.equal(byseries.bw_collector_stored_total.window, '2');
  assert.equal(byseries.bw_processor_processing_seconds_count.window, '2');
  assert.equal(await page.locator('#processed-window').getAttribute('data-value'), '2');
  assert.match(await page.locator('#processing-rate').innerText(), /per minute$/);
  assert.match(await page.locator('#processing-time').innerText(), /^mean .*95 % ≤ /);
  assert.equal(byseries['bw_queue_messages{queue="standard",state="ready"}'].value, '0');
  assert.equal(byseries['bw_queue_messages{queue="standard",state="in_flight"}'].value, '0');
  // Storage use (measured when the server started): one row per area, each its
  // bw_storage_bytes series; the index takes space.
  const rows = await page.locator('table.status-storage tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({ area: tr.dataset.area, bytes: tr.querySelector('td').dataset.value })));
  assert.deepEqual(rows.map((r) => r.area).sort(),
    ['collector', 'deferred', 'index', 'processed', 'standard', 'symbols', 'symbols_cache']);
  for (const r of rows) assert.equal(r.bytes, metrics[`bw_storage_bytes{area="${r.area}"}`], r.area);
  assert.ok(Number(rows.find((r) => r.area === 'index').bytes) > 0);
  assert.equal(await page.locator('#storage-not-measured').count(), 0);

  // The JSON form agrees.
  const js = await site.json('/status/?format=json');
  assert.equal(js.processed_in_window, 2);
  assert.equal(js.storage_use.interval_seconds, 600);
  assert.ok(js.storage_use.measured_at);
  for (const r of rows) assert.equal(String(js.storage_use.areas[r.area].bytes), r.bytes, r.area);
  await screenshot(page, 'status');

  // On a phone the tables scroll inside their box, never the page.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await screenshot(page, 'status-phone');
  await page.close();
});

test('the API page: every example answers its documented status; a crash example opens the crash', async () => {
  const newest = (await site.json('/api/SuperSearch/?_sort=-date&_results_number=1&_columns=uuid&_facets=')).hits[0].uuid;
  const page = await site.newPage({ width: 1280, height: 1000 });
  const res = await page.goto(`${baseUrl}/api/`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('h1').innerText(), 'API');
  assert.equal(await page.locator('#example-crash a').innerText(), newest);

  const links = await page.locator('a.example').evaluateAll((as) =>
    as.map((a) => ({ href: a.getAttribute('href'), status: Number(a.dataset.status) })));
  const unique = [...new Map(links.map((l) => [l.href, l])).values()];
  assert.equal(unique.length, 14);
  for (const { href, status } of unique) {
    const r = await fetch(baseUrl + href);
    assert.equal(r.status, status, href);
  }
  assert.ok(unique.some((l) => l.href === `/api/ProcessedCrash/?crash_id=${newest}`));
  assert.ok(unique.some((l) => l.href === `/api/SuperSearch/?product=${PRODUCT}&_facets=signature`));
  // POST /submit has no link: it is the collector's route. The crashes above were sent to it; a
  // body that is not a crash is refused by it (not the site's 404 page).
  assert.match(await page.locator('#Submit').innerText(), /curl -F upload_file_minidump=@crash\.dmp/);
  const refused = await fetch(`${baseUrl}/submit`, { method: 'POST', body: 'x' });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /^Discarded=malformed_/);
  // Permissions are named where they are needed.
  assert.match(await page.locator('#SuperSearchUnredacted .permission').innerText(), /^view_pii \(Auth-Token header, docs\/security\.md\)/);
  assert.match(await page.locator('#RawCrash-dump .permission').innerText(), /^view_rawdump/);
  await screenshot(page, 'api');

  // Clicking an example runs it.
  await page.locator('#ProcessedCrash a.example').click();
  await page.waitForURL(`${baseUrl}/api/ProcessedCrash/?crash_id=${newest}`);
  const shown = JSON.parse(await page.locator('body').innerText());
  assert.equal(shown.uuid, newest);
  assert.equal(shown.product, PRODUCT);
  await page.close();
});
