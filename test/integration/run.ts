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
 *   MLLAB_IT_VERBOSE=1       also print the workbench's own routine log lines (hidden by default)
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
import { ensureServerInstall, findFreePort, startServer, tailFile, waitForHttp } from './harness/server';
import { createRunDirs, removeRunDirs } from './harness/workspace';

export const SECOND_WINDOW_MARKER = 'MLLAB_OPEN_SECOND_WINDOW';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

interface Options {
  timeoutMs: number;
  keep: boolean;
  extensionPath: string;
  testsPath: string;
  screenshot: 'always' | 'never' | 'on-failure';
  verbose: boolean;
}

function readOptions(env: NodeJS.ProcessEnv): Options {
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

/**
 * In test mode the workbench forwards every log entry of its own besides the extension host's console
 * output, unlabelled. These are the routine ones of a healthy offline run.
 */
const WORKBENCH_NOISE: RegExp[] = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^\[reconnection-grace-time\]/,
  /^(Updating|Ignoring fetching) additional builtin extensions/,
  /^\[(AgentHost|AccountPolicyGate|ChatModelSelection)\b/,
  // code-server serves no service worker when its VS Code server is run directly:
  /^\[Service Worker\] registration/,
  /^Failed to load resource: the server responded with a status of 404/,
  /^A bad HTTP response code \(404\)/,
  /^No search provider registered for scheme/,
  /^Canceled: Canceled/, // pending remote calls when the workbench shuts down after the tests
];

function isWorkbenchNoise(line: string): boolean {
  return WORKBENCH_NOISE.some((pattern) => pattern.test(line));
}

function say(message: string): void {
  process.stdout.write(`[integration] ${message}\n`);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

type Outcome = { kind: 'exit'; code: number } | { kind: 'failed'; message: string };

/** Cleanup steps, run once in reverse order of registration; each step's failure is only reported. */
class Cleanup {
  private steps: { name: string; run: () => unknown }[] = [];
  private done: Promise<void> | undefined;
  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }
  runAll(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          say(`cleanup '${step.name}' failed: ${String(error)}`);
        }
      }
    })();
    return this.done;
  }
}

async function saveScreenshot(browser: Browser): Promise<void> {
  const page = browser.contexts()[0]?.pages()[0];
  if (!page) return;
  const dir = path.join(repoRoot, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `integration-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: 10_000 });
  say(`screenshot: ${path.relative(repoRoot, file)}`);
}

export async function runIntegrationTests(options: Options): Promise<number> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals): void => {
    say(`received ${signal}, cleaning up`);
    void cleanup.runAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const install = await ensureServerInstall(repoRoot);
  const started = Date.now();
  const dirs = createRunDirs(path.join(repoRoot, 'test', 'integration', 'fixtures', 'workspace'));
  cleanup.add('temp folder', () => (options.keep ? say(`kept temp folder ${dirs.root}`) : removeRunDirs(dirs)));

  let browser: Browser | undefined;
  let outcome: Outcome;
  try {
    // Rejects when the overall timeout hits; every wait below races against it.
    const timedOut = new Promise<never>((_resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${options.timeoutMs} ms without a test result (MLLAB_IT_TIMEOUT_MS)`)),
        options.timeoutMs,
      );
      cleanup.add('timer', () => clearTimeout(timer));
    });
    timedOut.catch(() => undefined); // handled by the races below
    const bounded = <T>(work: Promise<T>): Promise<T> => Promise.race([work, timedOut]);

    const port = await findFreePort();
    const server = startServer({
      install,
      port,
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
    serverDied.catch(() => undefined); // handled by the races below

    await bounded(waitForHttp(server, options.timeoutMs));
    say(`VS Code server up on ${server.baseUrl} after ${seconds(started)}`);

    browser = await bounded(launchBrowser());
    const openedBrowser = browser;
    cleanup.add('browser', () => openedBrowser.close());

    const target: WorkbenchTarget = {
      baseUrl: server.baseUrl,
      workspaceFolder: dirs.workspace,
      extensionDevelopmentPath: options.extensionPath,
      extensionTestsPath: options.testsPath,
    };
    const printLog = (level: string, line: string, prefix = ''): void => {
      if (!options.verbose && isWorkbenchNoise(line)) return;
      const tag = level === 'error' || level === 'warn' ? `[${level}] ` : '';
      process.stdout.write(`${prefix}${tag}${line}\n`);
    };
    let secondWindowRequested = false;
    const requestSecondWindow = (): void => {
      if (secondWindowRequested) return;
      secondWindowRequested = true;
      const since = Date.now();
      say('opening the second window');
      openSecondWindow(openedBrowser, target, (level, line) => printLog(level, line, '[window 2] ')).then(
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

    const testWindow = await bounded(
      openTestWindow(browser, target, (level, line) => {
        printLog(level, line);
        if (line.includes(SECOND_WINDOW_MARKER)) requestSecondWindow();
      }),
    );
    say(`workbench page loaded after ${seconds(started)}`);

    const code = await Promise.race([testWindow.exitCode, serverDied, timedOut]);
    outcome = { kind: 'exit', code };
  } catch (error) {
    outcome = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  }

  const code = outcome.kind === 'exit' ? outcome.code : 1;
  if (outcome.kind === 'exit') {
    say(`tests finished with exit code ${code} after ${seconds(started)}`);
  } else {
    say(`FAILED: ${outcome.message}`);
    process.stdout.write(`--- last lines of the server log ---\n${tailFile(dirs.serverLog, 40)}\n---\n`);
  }
  if (browser && (options.screenshot === 'always' || (options.screenshot === 'on-failure' && code !== 0))) {
    await saveScreenshot(browser).catch((error: unknown) => say(`screenshot failed: ${String(error)}`));
  }
  await cleanup.runAll();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
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
