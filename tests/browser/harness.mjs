// What every browser test file needs: a real `breakwater serve` on a free port with the shared
// corpus' symbols, crashes submitted as a client would (multipart POST), headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core; no browser is ever downloaded), and
// screenshots saved under BW_ARTIFACTS_DIR (CTest: build/<preset>/test-artifacts/browser).
//
// Each test file starts its own server with `startSite()` and stops it with `site.stop()`, so
// files do not see each other's crashes. run-tests.sh runs the files one after another.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.BW_BREAKWATER_BIN;
export const TESTDATA = process.env.BW_TESTDATA_DIR || path.resolve(here, '../../../shared/testdata');
export const ARTIFACTS = process.env.BW_ARTIFACTS_DIR || path.join(os.tmpdir(), 'bw-browser-artifacts');
const CHROMIUM = '/usr/bin/chromium';
// How soon a viewed deferred crash must become its report (CTest sets more for sanitizer builds).
export const REPORT_DEADLINE_MS = Number(process.env.BW_REPORT_DEADLINE_MS || 2000);

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// What the window shows, as <name>.png in the artifacts folder.
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// Polls `probe` (async, truthy when done) every 50 ms until `timeoutMs`; fails with `what`.
export async function waitFor(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(50);
  }
  assert.fail(`${what} (after ${timeoutMs} ms)`);
}

class Site {
  constructor(workDir) {
    this.workDir = workDir;
    this.log = '';
    this.baseUrl = undefined;
    this.child = undefined;
    this.context = undefined;
  }

  // Posts a crash as Breakpad clients do; returns the bare crash id.
  async submit(dumpName, annotations) {
    const form = new FormData();
    for (const [k, v] of Object.entries(annotations)) form.append(k, v);
    const bytes = fs.readFileSync(path.join(TESTDATA, 'minidumps', dumpName));
    form.append('upload_file_minidump', new Blob([bytes], { type: 'application/octet-stream' }), dumpName);
    const res = await fetch(`${this.baseUrl}/submit`, { method: 'POST', body: form });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const m = /^CrashID=bp-([0-9a-f-]{36})$/m.exec(text);
    assert.ok(m, text);
    return m[1];
  }

  // Waits for the crash's state at /report/status/ (404 while the crash mover has not moved it).
  async waitState(id, want, timeoutMs) {
    let last = '';
    await waitFor(async () => {
      const res = await fetch(`${this.baseUrl}/report/status/${id}`);
      if (res.ok) last = (await res.json()).state;
      return last === want;
    }, timeoutMs, `crash ${id} not ${want} (last: ${last})`);
  }

  // Waits until the crash is in primary storage.
  async waitStored(id) {
    await waitFor(async () => (await fetch(`${this.baseUrl}/api/RawCrash/?crash_id=${id}`)).status === 200,
      30000, `crash ${id} never reached primary storage`);
  }

  // Waits until the crash is processed and findable in the index.
  async waitIndexed(id, timeoutMs = 60000) {
    await waitFor(async () => {
      const res = await fetch(`${this.baseUrl}/api/SuperSearch/?uuid=${id}&_columns=uuid`);
      return res.ok && (await res.json()).total === 1;
    }, timeoutMs, `crash ${id} never became searchable`);
  }

  // GET `pathAndQuery` as JSON (asserts a 200).
  async json(pathAndQuery) {
    const res = await fetch(this.baseUrl + pathAndQuery);
    const body = await res.text();
    assert.equal(res.status, 200, `${pathAndQuery}: ${body}`);
    return JSON.parse(body);
  }

  async newPage(viewport = { width: 1280, height: 900 }) {
    const page = await this.context.newPage();
    await page.setViewportSize(viewport);
    return page;
  }

  async stop() {
    if (this.context) await this.context.close();
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => { this.child.kill('SIGKILL'); resolve(); }, 30000);
        this.child.on('exit', () => { clearTimeout(timer); resolve(); });
      });
    }
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

// Starts `breakwater serve` on port 0 (reading the address from its start line) with `config`
// (TOML text) and extra command-line `args`, then a headless Chromium. Returns the Site.
export async function startSite({ config = '', args = [] } = {}) {
  assert.ok(BIN, 'BW_BREAKWATER_BIN must name the breakwater binary');
  const site = new Site(fs.mkdtempSync(path.join(os.tmpdir(), 'bw-browser-')));
  const configPath = path.join(site.workDir, 'breakwater.toml');
  fs.writeFileSync(configPath, config);
  const child = spawn(BIN, [
    'serve', '--config', configPath, '--data', path.join(site.workDir, 'var'), '--listen', '127.0.0.1:0',
    '--symbols-path', path.join(TESTDATA, 'symbols'), '--set', 'processor.workers=1', ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  site.child = child;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not start:\n' + site.log)), 60000);
    child.stderr.on('data', (d) => { site.log += d; });
    child.stdout.on('data', (d) => {
      site.log += d;
      const m = /breakwater serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(site.log);
      if (m && !site.baseUrl) {
        clearTimeout(timer);
        site.baseUrl = m[1];
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${site.log}`)));
  });
  site.context = await chromium.launchPersistentContext(path.join(site.workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  return site;
}
