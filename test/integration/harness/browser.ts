/**
 * Driving the VS Code web workbench with Chromium (playwright-core): building the workbench URL,
 * wiring the smoke-test-driver hooks (`codeAutomationLog` / `codeAutomationExit`) and opening windows.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { format } from 'util';

export const CHROMIUM_PATH = process.env.MLLAB_IT_CHROMIUM ?? '/usr/bin/chromium';

export interface WorkbenchTarget {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Absolute path (on the server machine) of the folder to open. */
  workspaceFolder: string;
  /** Absolute path of the extension under development. */
  extensionDevelopmentPath: string;
  /** Absolute path of the test runner module (exports `run()`); omit for a window without tests. */
  extensionTestsPath?: string;
}

/** Receives one formatted line per workbench/extension-host log entry. */
export type LogSink = (level: string, line: string) => void;

export interface TestWindow {
  page: Page;
  /** Resolves with the test runner's exit code (0 = all tests passed). */
  exitCode: Promise<number>;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // The runner handles signals itself: Playwright's handlers would exit before the server is stopped.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * The workbench URL. Paths are turned into `vscode-remote://<host:port>/<path>` URIs: the web workbench
 * uses the page's host as remote authority, so the extension runs in the server's extension host.
 */
export function workbenchUrl(target: WorkbenchTarget): string {
  const authority = new URL(target.baseUrl).host;
  const remote = (absPath: string): string => `vscode-remote://${authority}${absPath}`;
  const payload: [string, string][] = [['extensionDevelopmentPath', remote(target.extensionDevelopmentPath)]];
  if (target.extensionTestsPath) {
    payload.push(['extensionTestsPath', remote(target.extensionTestsPath)]);
  }
  return (
    `${target.baseUrl}/?folder=${encodeURIComponent(target.workspaceFolder)}` +
    `&payload=${encodeURIComponent(JSON.stringify(payload))}`
  );
}

/**
 * Turns the arguments of a `codeAutomationLog(level, args)` call into one (possibly multi-line) string.
 * Extension host console calls arrive with their original arguments (e.g. mocha's `'%d passing (%s)', 2,
 * '30ms'`), so they are formatted the way Node's console would.
 */
export function formatLogArgs(args: unknown): string {
  const parts = Array.isArray(args) ? (args as unknown[]) : [args];
  return format(...parts.map((part) => (part instanceof Error ? (part.stack ?? part.message) : part)));
}

/**
 * Opens the window that runs the tests. The hooks must be exposed before navigation: the workbench
 * looks them up on `window` when it logs and when the extension host test runner finishes.
 */
export async function openTestWindow(browser: Browser, target: WorkbenchTarget, log: LogSink): Promise<TestWindow> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  let resolveExit: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (resolveExit = resolve));
  await page.exposeFunction('codeAutomationLog', (level: string, args: unknown) => log(level, formatLogArgs(args)));
  await page.exposeFunction('codeAutomationExit', (code: unknown) => {
    resolveExit(typeof code === 'number' ? code : 1);
  });
  page.on('pageerror', (error) => log('error', `[page error] ${error.stack ?? error.message}`));
  await page.goto(workbenchUrl(target));
  return { page, exitCode };
}

/**
 * Opens a second workbench window on the same folder with the extension under development but no
 * tests, so a second extension host runs the extension. Uses its own browser context (separate
 * browser storage), like a second VS Code window would. Resolves once the workbench is rendered.
 */
export async function openSecondWindow(browser: Browser, target: WorkbenchTarget, log: LogSink): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => log('error', `[page error] ${error.stack ?? error.message}`));
  // Without tests the workbench neither calls codeAutomationLog nor forwards the extension host's
  // console; its own errors (e.g. a failed activation) go to the browser console, styled as
  // '%c  ERR', 'color: #f33', message.
  page.on('console', (message) => {
    if (message.type() === 'error') {
      log('error', message.text().replace(/^%c\s*\w+\s+color: \S+\s*/, ''));
    }
  });
  await page.goto(workbenchUrl({ ...target, extensionTestsPath: undefined }));
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  return page;
}
