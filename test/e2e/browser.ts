// Launches the machine's Chromium (/usr/bin/chromium, or FLOWTAPE_CHROMIUM) through playwright-core for the viewer's
// e2e tests and benchmark. Browsers cannot be downloaded here, so Playwright's own builds are never used. When that
// executable is missing, launchBrowser (and assertChromium, which callers run before starting any server) fail at
// once with one line saying how to fix it, instead of a Playwright stack after the viewer was built and served.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.FLOWTAPE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const resultsDir = join(repoRoot, 'test-results', 'e2e');

/** Chromium is not there (or not executable): one line, no stack, naming the path and FLOWTAPE_CHROMIUM. */
export class ChromiumMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.stack = message; // what the test runner prints: the line itself
  }
}
// On the prototype, not the instance, so the runner does not print `{ name: … }` after the line.
Object.defineProperty(ChromiumMissingError.prototype, 'name', { value: 'ChromiumMissingError' });

/** Why `path` cannot be launched as Chromium, in one line, or undefined when it is an executable file. */
export function chromiumProblem(path = CHROMIUM, fromEnv = process.env.FLOWTAPE_CHROMIUM !== undefined): string | undefined {
  const where = `${path}${fromEnv ? ' (FLOWTAPE_CHROMIUM)' : ''}`;
  const fix = 'install it (apt-get install -y chromium) or set FLOWTAPE_CHROMIUM to a Chromium executable';
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return `chromium not found at ${where}: ${fix}`;
  }
  if (!isFile) return `chromium at ${where} is not a file: ${fix}`;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `chromium at ${where} is not executable: ${fix}`;
  }
  return undefined;
}

/** Throws ChromiumMissingError unless CHROMIUM can be launched; cheap, so run it before starting servers. */
export function assertChromium(): void {
  const problem = chromiumProblem();
  if (problem) throw new ChromiumMissingError(problem);
}

export async function launchBrowser(): Promise<Browser> {
  assertChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far (a blank page usually shows up here first). */
  errors: string[];
  close(): Promise<void>;
}

export async function openSession(viewport = { width: 1400, height: 900 }): Promise<BrowserSession> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { browser, context, page, errors, close: () => browser.close() };
}

/** Saves a full-page screenshot as test-results/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
