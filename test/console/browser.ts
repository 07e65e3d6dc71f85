// Test kit for the console's browser tests: builds the console, launches Debian's chromium
// (never a downloaded browser) through playwright-core with a fresh empty profile, and logs
// in through the real login page.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, 'screenshots');
const REPO = path.resolve(__dirname, '..', '..');

export function buildConsole(): void {
  execFileSync(process.execPath, [path.join(REPO, 'webconsole', 'build.mjs')], { cwd: REPO, stdio: 'pipe' });
}

export function strongPassword(): string {
  return `Pw-${crypto.randomBytes(12).toString('hex')}`;
}

export interface Browser {
  readonly context: BrowserContext;
  readonly profile: string;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run installers/ensure-system-packages.sh (Debian package chromium)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-console-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  return {
    context,
    profile,
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Page errors and console errors, so a CSP violation or a script failure fails the test. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The API's coded 4xx answers (the session probe before login, a wrong password, a refused
    // command, /favicon.ico) are expected and shown in the page; the browser logs each as an
    // error. 5xx answers, script errors and CSP violations still fail the test.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) return;
    errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function loginAs(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(base + '/');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('td.cell').first().waitFor({ timeout: 10_000 });
}

export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** axe-core, evaluated over DevTools (the page's CSP forbids injected scripts, rightly). */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string | null; help: string; nodes: number }>> {
  const src = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(src);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, o: unknown) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: unknown[] }> }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
}
