// Browser tests of the web reporter: a real `breakwater serve` (collector, storage, queue,
// processors, web app) on a free port with the shared corpus' symbols, crashes submitted as a
// client would (multipart POST), and pages read in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser is ever downloaded).
//
// Each test saves a screenshot under BW_ARTIFACTS_DIR (CTest: build/<preset>/test-artifacts/browser).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.BW_BREAKWATER_BIN;
const TESTDATA = process.env.BW_TESTDATA_DIR || path.resolve(here, '../../../shared/testdata');
const ARTIFACTS = process.env.BW_ARTIFACTS_DIR || path.join(os.tmpdir(), 'bw-browser-artifacts');
const CHROMIUM = '/usr/bin/chromium';
// How soon a viewed deferred crash must become its report (CTest sets more for sanitizer builds).
const REPORT_DEADLINE_MS = Number(process.env.BW_REPORT_DEADLINE_MS || 2000);

let workDir;
let server;
let baseUrl;
let context;
let serverLog = '';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Starts `breakwater serve` on port 0 and reads the address from its start line.
function startServe() {
  const config = path.join(workDir, 'breakwater.toml');
  // One product is deferred: stored, processed only when someone asks (the report page does).
  fs.writeFileSync(config, [
    '[[collector.throttle_rules]]',
    'name = "defer_test_product"',
    'key = "ProductName"',
    'condition = "equals"',
    'value = "DeferMe"',
    'result = "DEFER"',
    '',
  ].join('\n'));
  const child = spawn(BIN, [
    'serve', '--config', config, '--data', path.join(workDir, 'var'), '--listen', '127.0.0.1:0',
    '--symbols-path', path.join(TESTDATA, 'symbols'), '--set', 'processor.workers=1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not start:\n' + serverLog)), 60000);
    child.stderr.on('data', (d) => { serverLog += d; });
    child.stdout.on('data', (d) => {
      serverLog += d;
      const m = /breakwater serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(serverLog);
      if (m && !baseUrl) {
        clearTimeout(timer);
        baseUrl = m[1];
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${serverLog}`)));
  });
}

// Posts a crash as Breakpad clients do; returns the bare crash id.
async function submit(dumpName, annotations) {
  const form = new FormData();
  for (const [k, v] of Object.entries(annotations)) form.append(k, v);
  const bytes = fs.readFileSync(path.join(TESTDATA, 'minidumps', dumpName));
  form.append('upload_file_minidump', new Blob([bytes], { type: 'application/octet-stream' }), dumpName);
  const res = await fetch(`${baseUrl}/submit`, { method: 'POST', body: form });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const m = /^CrashID=bp-([0-9a-f-]{36})$/m.exec(text);
  assert.ok(m, text);
  return m[1];
}

// Waits for the crash's state at /report/status/ (404 while the crash mover has not moved it).
async function waitState(id, want, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${baseUrl}/report/status/${id}`);
    if (res.ok) {
      last = (await res.json()).state;
      if (last === want) return;
    }
    await sleep(50);
  }
  assert.fail(`crash ${id} not ${want} after ${timeoutMs} ms (last: ${last})`);
}

async function waitStored(id) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if ((await fetch(`${baseUrl}/api/RawCrash/?crash_id=${id}`)).status === 200) return;
    await sleep(50);
  }
  assert.fail(`crash ${id} never reached primary storage`);
}

// The value cell of a row of the details table, by its exact label.
function detail(page, label) {
  return page.locator('table.details tr', { has: page.locator('th', { hasText: new RegExp(`^${label}$`) }) }).locator('td');
}

// What the window shows (a whole report is several screens of threads and modules).
async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

before(async () => {
  assert.ok(BIN, 'BW_BREAKWATER_BIN must name the breakwater binary');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-browser-'));
  server = await startServe();
  context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  if (context) await context.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => { server.kill('SIGKILL'); resolve(); }, 30000);
      server.on('exit', () => { clearTimeout(timer); resolve(); });
    });
  }
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
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
