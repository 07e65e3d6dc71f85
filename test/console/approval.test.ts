// Manual failover approval in the web console (docs/geo.md), in Debian's chromium against the
// real HTTPS API server and the daemon's real control handler (fake daemon, test/api/helpers.ts,
// which models WAIT/Approval): the waiting module in words, approve after the split-brain
// confirmation, deny, a refused approve of a module no longer waiting, and a monitor user who
// sees no button (the API refuses it anyway); axe-core on the waiting cell and the dialog.
// Screenshots in test/console/screenshots/approval-*.png.
import type { Page } from 'playwright-core';
import { createFirstAdmin, userAdd } from '../../core/api/users/store';
import { makeTls, startFakeApi, type Started } from '../api/helpers';
import { axeViolations, buildConsole, collectErrors, launch, loginAs, shot, strongPassword, type Browser } from './browser';

jest.setTimeout(30_000);
let s: Started;
let b: Browser;
let base = '';
let admin = { user: 'admin', password: '' };
const control = { user: 'ctl', password: strongPassword() };
const monitor = { user: 'mon', password: strongPassword() };

beforeAll(async () => {
  buildConsole();
  const fx = await makeTls();
  admin = await createFirstAdmin(fx.conf_dir);
  await userAdd(fx.conf_dir, control.user, 'control', control.password);
  await userAdd(fx.conf_dir, monitor.user, 'monitor', monitor.password);
  s = await startFakeApi(fx, { poll_ms: 100 });
  base = `https://127.0.0.1:${s.port}`;
  b = await launch();
}, 120_000);

afterAll(async () => {
  await b?.close();
  await s?.server.close();
});

afterEach(async () => {
  s.daemon.approval = null;
  s.daemon.state = 'PRIM';
  await b.context.clearCookies();
});

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await b.context.newPage();
  return { page, errors: collectErrors(page) };
}

const n1 = (page: Page) => page.locator('td.cell[data-node="n1"][data-module="m1"]');

test('a waiting module says so in words: how long, the timer; control approves after the split-brain warning', async () => {
  s.daemon.approval = { waiting_ms: 42_000, timer_left_ms: 558_000, denied: false };
  const { page, errors } = await newPage();
  await loginAs(page, base, control.user, control.password);
  const cell = n1(page);
  await cell.locator('.approval').waitFor({ timeout: 5_000 });
  const text = (await cell.textContent()) ?? '';
  expect(text).toMatch(/WAIT \(Approval\)/);
  expect(text).toMatch(/waiting for approval for 42 s/);
  expect(text).toMatch(/the timer approves in 9 min 18 s/);
  expect(await cell.getAttribute('data-colour')).toBe('orange');
  await shot(page, 'approval-01-waiting-control');

  // Approve asks first, naming the risk; Cancel sends nothing.
  const before = s.daemon.commands.length;
  await cell.getByRole('button', { name: 'Approve failover' }).click();
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor();
  expect(await dialog.textContent()).toMatch(/other site is not really down.*may still be serving/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  expect(s.daemon.commands.length).toBe(before);

  await cell.getByRole('button', { name: 'Approve failover' }).click();
  await dialog.waitFor();
  const violations = await axeViolations(page);
  console.log(`axe (waiting cell with the approval dialog): ${violations.length} violation(s): ${JSON.stringify(violations)}`);
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  await shot(page, 'approval-02-confirm');
  const t0 = Date.now();
  await dialog.getByRole('button', { name: 'Yes, approve failover' }).click();
  await cell.getByRole('status').filter({ hasText: 'Approve failover: done' }).waitFor({ timeout: 5_000 });
  expect(s.daemon.commands.slice(before)).toEqual([{ module: 'm1', command: { kind: 'approve' } }]);
  // The survivor took over: the wait and its buttons are gone, the result stays.
  await cell.locator('.approval').waitFor({ state: 'detached', timeout: 5_000 });
  expect(await cell.textContent()).toMatch(/ALONE/);
  console.log(`approve: click to ALONE shown in ${Date.now() - t0} ms`);
  await shot(page, 'approval-03-approved');
  expect(errors).toEqual([]);
  await page.close();
});

test('deny keeps it waiting and says "denied"; an approve of a module no longer waiting shows the API\'s code', async () => {
  s.daemon.approval = { waiting_ms: 9_534, timer_left_ms: 600_000, denied: false };
  const { page, errors } = await newPage();
  await loginAs(page, base, admin.user, admin.password);
  const cell = n1(page);
  await cell.locator('.approval').waitFor({ timeout: 5_000 });
  const before = s.daemon.commands.length;
  await cell.getByRole('button', { name: 'Deny' }).click();
  await cell.getByRole('status').filter({ hasText: 'Deny: done' }).waitFor({ timeout: 5_000 });
  expect(s.daemon.commands.slice(before)).toEqual([{ module: 'm1', command: { kind: 'deny' } }]);
  await cell.locator('.approval[data-approval="denied"]').waitFor({ timeout: 5_000 });
  const text = (await cell.locator('.approval').textContent()) ?? '';
  expect(text).toMatch(/waiting for approval for 9 s/);
  expect(text).toMatch(/denied, no timer/);
  expect(text).toMatch(/denied/);
  // A later approve still works: the buttons stay.
  expect(await cell.getByRole('button', { name: 'Approve failover' }).isVisible()).toBe(true);
  await shot(page, 'approval-04-denied');

  // The module stops waiting between the console's last view and the click (the peer came
  // back): approve is refused with the code. The view is held on "waiting" so the dialog is still
  // there to click (otherwise the next poll would close it, rightly, and the test would race it).
  const d = s.daemon;
  const original = d.status.bind(d);
  const lastSeen = original('m1');
  d.status = () => lastSeen;
  try {
    await cell.getByRole('button', { name: 'Approve failover' }).click();
    d.approval = null;
    await page.getByRole('alertdialog').getByRole('button', { name: 'Yes, approve failover' }).click();
    await cell.getByRole('status').filter({ hasText: 'HAKIT_E_FAILOVER_NOT_WAITING' }).waitFor({ timeout: 5_000 });
    await shot(page, 'approval-05-not-waiting');
  } finally {
    d.status = original;
  }
  expect(d.commands.slice(before).map((c) => c.command.kind)).toEqual(['deny']);
  expect(errors).toEqual([]);
  await page.close();
});

test('a monitor user sees the wait but no button, and the API refuses approve anyway', async () => {
  s.daemon.approval = { waiting_ms: 3_000, timer_left_ms: null, denied: false };
  const { page, errors } = await newPage();
  await loginAs(page, base, monitor.user, monitor.password);
  const cell = n1(page);
  await cell.locator('.approval').waitFor({ timeout: 5_000 });
  expect(await cell.locator('.approval').textContent()).toMatch(/waiting for approval for 3 s · no timer/);
  expect(await page.locator('[data-action]').count()).toBe(0);
  expect(await page.getByRole('button', { name: /Approve|Deny/ }).count()).toBe(0);
  const status = await page.evaluate(async () => {
    const f = (globalThis as unknown as { fetch: (u: string, o?: unknown) => Promise<{ status: number; json(): Promise<{ csrf_token: string }> }> }).fetch;
    const csrf = (await (await f('/api/v1/session')).json()).csrf_token;
    const r = await f('/api/v1/nodes/n1/modules/m1/commands', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ kind: 'approve' }) });
    return r.status;
  });
  expect(status).toBe(403);
  expect(s.daemon.approval).not.toBeNull();
  const violations = await axeViolations(page);
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  await shot(page, 'approval-06-monitor');
  expect(errors).toEqual([]);
  await page.close();
});
