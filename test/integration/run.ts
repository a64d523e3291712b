/**
 * Runs the integration tests (out/test/integration/suite/index.js) inside a real VS Code extension
 * host: a VS Code server on 127.0.0.1 and its web workbench in headless Chromium.
 *
 *   node out/test/integration/run.js
 *
 * Environment:
 *   MLLAB_IT_TIMEOUT_MS      overall timeout once the server is installed (default 600000)
 *   MLLAB_IT_KEEP=1          keep the temp folder (server data, workspace, server.log)
 *   MLLAB_IT_EXTENSION_PATH  extension under development (default: the repo root)
 *   MLLAB_IT_TESTS_PATH      test runner module (default: out/test/integration/suite/index.js)
 *   MLLAB_IT_ONLY=name      run only the suite files whose name contains it (e.g. experiments)
 *   MLLAB_IT_VERBOSE=1       also print the workbench's routine log lines (hidden by default)
 *   MLLAB_IT_SCREENSHOT      1 = always save test-artifacts/integration-<time>.png, 0 = never,
 *                            unset = only when the run fails
 *
 * The server (and so the extension hosts) gets MLLAB_TEST_WORKSPACE (the opened folder) and
 * MLLAB_IT_SIGNAL_DIR. When the test extension host logs a line containing MLLAB_OPEN_SECOND_WINDOW,
 * a second window on the same folder is opened with the extension but without tests; then the file
 * `second-window-open` (or `second-window-failed`, holding the error) appears in MLLAB_IT_SIGNAL_DIR.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Browser } from 'playwright-core';
import { launchBrowser, openSecondWindow, openTestWindow, type WorkbenchTarget } from './harness/browser';
import { printLogLine, say } from './harness/log';
import { ensureServerInstall, findFreePort, startServer, tailFile, waitForHttp } from './harness/server';
import { createRunDirs, removeRunDirs, type RunDirs } from './harness/workspace';

export const SECOND_WINDOW_MARKER = 'MLLAB_OPEN_SECOND_WINDOW';
/** `MLLAB_SCREENSHOT <name>` in a test's output saves test-artifacts/<name>-<time>.png. */
const SCREENSHOT_MARKER = /MLLAB_SCREENSHOT ([\w-]+)/;

const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface Options {
  timeoutMs: number;
  keep: boolean;
  extensionPath: string;
  testsPath: string;
  verbose: boolean;
  screenshot: 'always' | 'never' | 'on-failure';
}

export function readOptions(env: NodeJS.ProcessEnv): Options {
  const timeoutMs = Number(env.MLLAB_IT_TIMEOUT_MS ?? 600_000);
  return {
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 600_000,
    keep: env.MLLAB_IT_KEEP === '1',
    extensionPath: path.resolve(env.MLLAB_IT_EXTENSION_PATH ?? repoRoot),
    testsPath: path.resolve(
      env.MLLAB_IT_TESTS_PATH ?? path.join(repoRoot, 'out', 'test', 'integration', 'suite', 'index.js'),
    ),
    verbose: env.MLLAB_IT_VERBOSE === '1',
    screenshot: env.MLLAB_IT_SCREENSHOT === '1' ? 'always' : env.MLLAB_IT_SCREENSHOT === '0' ? 'never' : 'on-failure',
  };
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

/** Cleanup steps, run once in reverse order of registration; a failing step is reported, not fatal. */
class Cleanup {
  private readonly steps: { name: string; run: () => unknown }[] = [];
  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }
  async runAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        say(`cleanup of ${step.name} failed: ${String(error)}`);
      }
    }
  }
}

/** A promise that rejects when the run must stop early (timeout, Ctrl+C); every wait races against it. */
class Abort {
  readonly promise: Promise<never>;
  private rejectWith: (reason: Error) => void = () => undefined;
  constructor() {
    this.promise = new Promise<never>((_resolve, reject) => (this.rejectWith = reject));
    this.promise.catch(() => undefined); // observed through race()
  }
  abort(reason: string): void {
    this.rejectWith(new Error(reason));
  }
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.promise]);
  }
}

async function saveScreenshot(browser: Browser, name?: string): Promise<void> {
  const page = browser.contexts()[0]?.pages()[0];
  if (!page) {
    return;
  }
  const dir = path.join(repoRoot, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name ?? 'integration'}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: 10_000 });
  say(`screenshot: ${path.relative(repoRoot, file)}`);
}

/** Opens the second window (once) and leaves a marker file in the signal folder for the suite. */
function secondWindowOpener(browser: Browser, target: WorkbenchTarget, dirs: RunDirs, options: Options): () => void {
  let requested = false;
  return () => {
    if (requested) {
      return;
    }
    requested = true;
    const since = Date.now();
    say('opening the second window');
    const log = (level: string, line: string): void =>
      printLogLine(level, line, { verbose: options.verbose, prefix: '[window 2] ' });
    openSecondWindow(browser, target, log).then(
      () => {
        say(`second window opened after ${seconds(since)}`);
        fs.writeFileSync(path.join(dirs.signals, 'second-window-open'), '');
      },
      (error: unknown) => {
        say(`could not open the second window: ${String(error)}`);
        fs.writeFileSync(path.join(dirs.signals, 'second-window-failed'), String(error));
      },
    );
  };
}

/** Runs the suite once; resolves with the exit code for the process (0 = all tests passed). */
export async function runIntegrationTests(options: Options): Promise<number> {
  const install = await ensureServerInstall(repoRoot);
  const started = Date.now();
  const cleanup = new Cleanup();
  const abort = new Abort();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    abort.abort(`interrupted by ${signal}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  cleanup.add('signal handlers', () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  });
  const timer = setTimeout(
    () => abort.abort(`timed out after ${options.timeoutMs} ms without a test result (MLLAB_IT_TIMEOUT_MS)`),
    options.timeoutMs,
  );
  cleanup.add('timer', () => clearTimeout(timer));

  const dirs = createRunDirs(path.join(repoRoot, 'test', 'integration', 'fixtures', 'workspace'));
  cleanup.add('temp folder', () => (options.keep ? say(`kept temp folder ${dirs.root}`) : removeRunDirs(dirs)));

  let browser: Browser | undefined;
  let exitCode: number | undefined;
  let failure: string | undefined;
  try {
    const server = startServer({
      install,
      port: await findFreePort(),
      serverDataDir: dirs.serverDataDir,
      extensionsDir: dirs.extensionsDir,
      logFile: dirs.serverLog,
      env: {
        MLLAB_TEST_WORKSPACE: dirs.workspace,
        MLLAB_IT_SIGNAL_DIR: dirs.signals,
        // No extension gallery (code-server defaults to open-vsx.org): the tests stay offline.
        EXTENSIONS_GALLERY: '{}',
      },
    });
    cleanup.add('server', () => server.stop());
    const serverDied = server.exited.then((code): never => {
      throw new Error(`VS Code server exited unexpectedly (code ${code})`);
    });
    serverDied.catch(() => undefined); // observed through race()

    await abort.race(waitForHttp(server, options.timeoutMs));
    say(`VS Code server up on ${server.baseUrl} after ${seconds(started)}`);

    const openedBrowser = await abort.race(launchBrowser());
    browser = openedBrowser;
    cleanup.add('browser', () => openedBrowser.close());

    const target: WorkbenchTarget = {
      baseUrl: server.baseUrl,
      workspaceFolder: dirs.workspace,
      extensionDevelopmentPath: options.extensionPath,
      extensionTestsPath: options.testsPath,
    };
    const requestSecondWindow = secondWindowOpener(openedBrowser, target, dirs, options);
    const testWindow = await abort.race(
      openTestWindow(openedBrowser, target, (level, line) => {
        printLogLine(level, line, { verbose: options.verbose });
        if (line.includes(SECOND_WINDOW_MARKER)) {
          requestSecondWindow();
        }
        const shot = SCREENSHOT_MARKER.exec(line);
        if (shot) {
          // a test asked for a picture of the workbench as it is now; it waits for the signal file
          const done = path.join(dirs.signals, `screenshot-${shot[1]}`);
          saveScreenshot(openedBrowser, shot[1]).then(
            () => fs.writeFileSync(done, ''),
            (error: unknown) => fs.writeFileSync(done, String(error)),
          );
        }
      }),
    );
    say(`workbench page loaded after ${seconds(started)}`);

    exitCode = await abort.race(Promise.race([testWindow.exitCode, serverDied]));
    say(`tests finished with exit code ${exitCode} after ${seconds(started)}`);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }

  if (failure !== undefined) {
    say(`FAILED: ${failure}`);
    if (!interrupted) {
      process.stdout.write(`--- last lines of ${dirs.serverLog} ---\n${tailFile(dirs.serverLog, 40)}\n---\n`);
    }
  }
  const code = interrupted ? 130 : (exitCode ?? 1);
  const wantScreenshot = options.screenshot === 'always' || (options.screenshot === 'on-failure' && code !== 0);
  if (browser && wantScreenshot && !interrupted) {
    await saveScreenshot(browser).catch((error: unknown) => say(`screenshot failed: ${String(error)}`));
  }
  await cleanup.runAll();
  return code;
}

if (require.main === module) {
  runIntegrationTests(readOptions(process.env)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      say(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
