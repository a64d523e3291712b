import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { readRegistration } from '../src/common/home';
import { percentile } from './stats';

const REPO = path.resolve(__dirname, '..', '..');

export interface Target {
  readonly port: number;
  readonly token?: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function waitReady(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('message', (m: { type: string; port?: number; message?: string }) =>
      m.type === 'ready' ? resolve(m.port!) : reject(new Error(m.message)),
    );
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

export function tempHome(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-')), '.mllab');
}

export async function startBackend(home: string): Promise<Target> {
  const child = fork(path.join(REPO, 'dist', 'backend.js'), ['--home', home], { stdio: 'ignore' });
  const port = await waitReady(child);
  return { port, token: readRegistration(home)!.token, child, stop: stopper(child) };
}

export async function startReference(body: string): Promise<Target> {
  const child = fork(path.join(REPO, 'bench', 'reference-server.js'), [body], { stdio: 'ignore' });
  const port = await waitReady(child);
  return { port, child, stop: stopper(child) };
}

export function get(agent: http.Agent, target: Pick<Target, 'port' | 'token'>, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: target.port,
        path: urlPath,
        agent,
        headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
  });
}

export interface LoadResult {
  readonly sent: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly achievedRps: number;
}

/**
 * Open-loop load: starts one request every 1/rate s for `seconds`, whatever the answers do, and
 * measures each request's latency from its scheduled start (so queueing delay is counted).
 */
export async function load(target: Target, urlPath: string, rate: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  const total = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) {
      await new Promise((r) => setTimeout(r, wait));
    }
    // from the scheduled start when behind schedule (queueing delay counts), else from the actual send
    const t0 = Math.min(due, performance.now());
    pending.push(get(agent, target, urlPath).then(() => void latencies.push(performance.now() - t0)));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    sent: total,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    achievedRps: total / elapsed,
  };
}
