// Browser tests of signing in (web/sign_in_pages.h, docs/security.md "Signing in"): serve's
// first-start link, the session cookie's flags, protected fields on the report page only while
// signed in, a token made on the profile page and used with curl, sign-out, a form posted without
// its CSRF value refused, and the sign-in form with a password made by the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, screenshot, startSite } from './harness.mjs';

let site;
let baseUrl;
let context;
let crashId;
const marker = `mk${Date.now().toString(36)}`;

before(async () => {
  // The collector drops Email by default (collector.removed_fields); keep it to see it protected.
  site = await startSite({ config: '[collector]\nremoved_fields = []\n' });
  baseUrl = site.baseUrl;
  context = site.context;
  crashId = await site.submit('linux_inline.dmp', {
    ProductName: 'SignInTest', Version: '1.0', URL: `https://${marker}.example/secret-page`,
    Email: `${marker}@example.com`, Comments: `it broke ${marker}`,
  });
  await site.waitState(crashId, 'processed', 60000);
});

after(async () => {
  if (site) await site.stop();
});

async function sessionCookie() {
  return (await context.cookies(baseUrl)).find((c) => c.name === 'bw_session');
}

test('the first-start link signs the admin in; protected fields show only while signed in; sign-out ends it', async () => {
  const page = await context.newPage();
  // Anonymous: the report hides the protected annotations.
  await page.goto(`${baseUrl}/report/index/${crashId}`);
  assert.ok(!(await page.content()).includes(marker), 'an anonymous visitor sees a protected value');
  await screenshot(page, 'signin-report-anonymous');

  // serve printed a one-time link on its first start (standard output, not the log).
  const m = /first start: an admin account was made[^\n]*\n\s+(http:\/\/\S+\/login\/once\/bwl_[0-9a-f]{64})/.exec(site.log);
  assert.ok(m, `no first-start link in serve's output:\n${site.log}`);
  const res = await page.goto(m[1]);
  assert.equal(res.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/profile/');
  assert.equal(await page.locator('h1').innerText(), 'admin');
  assert.deepEqual(await page.locator('ul.permissions li').allInnerTexts(),
    ['admin', 'reprocess_crashes', 'run_long_queries', 'upload_symbols', 'view_pii', 'view_rawdump']);
  await screenshot(page, 'signin-profile');

  const cookie = await sessionCookie();
  assert.ok(cookie, 'no session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.secure, false, 'plain http on loopback');
  assert.match(cookie.value, /^bws_[0-9a-f]{64}$/);
  // The link worked once.
  const again = await fetch(m[1], { redirect: 'manual' });
  assert.equal(again.status, 403);

  // Signed in with view_pii: the protected annotations and the dump link.
  await page.goto(`${baseUrl}/report/index/${crashId}`);
  const annotations = await page.locator('table.annotations').innerText();
  assert.ok(annotations.includes(`${marker}@example.com`), annotations);
  assert.ok(annotations.includes(`it broke ${marker}`), annotations);
  assert.equal(await page.locator('a', { hasText: 'Minidump (download)' }).count(), 1);
  await page.locator('#annotations').scrollIntoViewIfNeeded();
  await screenshot(page, 'signin-report-protected');

  // A form posted without its CSRF value (as another site would) is refused, the session kept.
  const forged = await fetch(`${baseUrl}/profile/tokens/`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: `bw_session=${cookie.value}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'permission=view_pii&label=forged',
  });
  assert.equal(forged.status, 403);
  const forgedOut = await fetch(`${baseUrl}/logout/`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: `bw_session=${cookie.value}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'csrf=' + '0'.repeat(64),
  });
  assert.equal(forgedOut.status, 403);

  // Make a token on the profile page and use it with curl.
  await page.goto(`${baseUrl}/profile/`);
  await page.fill('#label', 'browser test');
  await page.fill('#days', '7');
  for (const p of ['reprocess_crashes', 'run_long_queries', 'upload_symbols', 'view_rawdump', 'admin']) {
    await page.locator(`input[name=permission][value=${p}]`).uncheck();
  }
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.locator('#new-token').innerText()).trim();
  assert.match(token, /^bwt_[0-9a-f]{64}$/);
  await screenshot(page, 'signin-token-created');
  const viaCurl = execFileSync('curl', ['-sS', '-H', `Auth-Token: ${token}`,
    `${baseUrl}/api/ProcessedCrash/?crash_id=${crashId}`], { encoding: 'utf8' });
  assert.equal(JSON.parse(viaCurl).email, `${marker}@example.com`);
  const noDump = execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Auth-Token: ${token}`,
    `${baseUrl}/api/RawCrash/?crash_id=${crashId}&format=raw`], { encoding: 'utf8' });
  assert.equal(noDump, '403', 'the token carries view_pii only');
  // Listed afterwards by its first characters only.
  await page.goto(`${baseUrl}/profile/`);
  const listed = await page.locator('table.tokens').innerText();
  assert.ok(listed.includes(token.slice(0, 8)) && !listed.includes(token), listed);

  // Sign out: the cookie goes, the profile asks to sign in, the report hides the fields again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(await sessionCookie(), undefined);
  await page.goto(`${baseUrl}/profile/`);
  assert.equal(new URL(page.url()).pathname, '/login/');
  await page.goto(`${baseUrl}/report/index/${crashId}`);
  assert.ok(!(await page.content()).includes(marker), 'still shown after signing out');
  // The old session value is dead on the server too.
  const stale = await fetch(`${baseUrl}/api/ProcessedCrash/?crash_id=${crashId}`, { headers: { Cookie: `bw_session=${cookie.value}` } });
  assert.ok(!(await stale.text()).includes(marker));
  await page.close();
});

test('the sign-in form takes a password set with the CLI and refuses a wrong one', async () => {
  const passwordFile = path.join(site.workDir, 'pw.txt');
  fs.writeFileSync(passwordFile, 'a long enough password\n');
  execFileSync(BIN, ['admin', 'user', 'add', 'alice', '--permission', 'view_pii', '--password-file', passwordFile,
    '--data', path.join(site.workDir, 'var')], { encoding: 'utf8' });
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${baseUrl}/login/?next=/report/index/${crashId}`);
  await page.fill('#username', 'alice');
  await page.fill('#password', 'not her password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(await page.locator('.form-error').innerText(), 'Wrong user name or password.');
  await screenshot(page, 'signin-form-refused');
  await page.fill('#password', 'a long enough password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.equal(new URL(page.url()).pathname, `/report/index/${crashId}`);
  assert.ok((await page.locator('table.annotations').innerText()).includes(`${marker}@example.com`));
  await screenshot(page, 'signin-form-report');
  // On a phone-sized window the profile still reads.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${baseUrl}/profile/`);
  await screenshot(page, 'signin-profile-phone');
  await page.close();
});
