import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AuditLog, type AuditEntry } from '../../src/backend/http/access';

const entry = (i: number): AuditEntry => ({
  time: new Date(Date.UTC(2026, 11, 6, 0, 0, i)).toISOString(),
  who: `user-${i}`,
  from: '127.0.0.1',
  method: 'POST',
  path: `/api/projects/${i}`,
  status: 201,
});

const read = (file: string): AuditEntry[] =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry)
    : [];

describe('the audit log of a lab served to a team', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-audit-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rotates past its size, keeps the newest files, loses no line of those it keeps, and stays private', () => {
    const file = path.join(dir, 'logs', 'audit.jsonl');
    const line = Buffer.byteLength(JSON.stringify(entry(0)) + '\n');
    const log = new AuditLog(file, line * 10, 2); // about ten lines a file, two rotated files kept
    for (let i = 0; i < 45; i++) {
      log.append(entry(i));
    }
    log.close();
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)).sort(), [
      'audit.1.jsonl',
      'audit.2.jsonl',
      'audit.jsonl',
    ]);
    const kept = [...read(log.rotated(2)), ...read(log.rotated(1)), ...read(file)];
    const whos = kept.map((e) => e.who);
    // the newest lines, in order, none twice and none missing between the oldest kept and the last
    const first = Number(whos[0]!.slice(5));
    assert.deepStrictEqual(
      whos,
      Array.from({ length: 45 - first }, (_, k) => `user-${first + k}`),
    );
    assert.ok(first > 0, 'the oldest lines went');
    for (const f of [file, log.rotated(1), log.rotated(2)]) {
      // rotated once it reaches the size: at most one line past it
      const longest = Buffer.byteLength(JSON.stringify(entry(44)) + '\n');
      assert.ok(fs.statSync(f).size < line * 10 + longest, `${f} is bounded`);
      assert.strictEqual(fs.statSync(f).mode & 0o777, 0o600, `${f} is private`);
    }
  });

  it('counts what the file held before a restart', () => {
    const file = path.join(dir, 'audit.jsonl');
    const line = Buffer.byteLength(JSON.stringify(entry(0)) + '\n');
    const first = new AuditLog(file, line * 4, 3);
    first.append(entry(0));
    first.append(entry(1));
    first.close();
    const second = new AuditLog(file, line * 4, 3);
    second.append(entry(2));
    second.append(entry(3)); // the fourth line: the file is full and rotates
    second.close();
    assert.deepStrictEqual(
      read(second.rotated(1)).map((e) => e.who),
      ['user-0', 'user-1', 'user-2', 'user-3'],
    );
    assert.strictEqual(fs.existsSync(file), false, 'a new file starts with the next line');
  });
});
