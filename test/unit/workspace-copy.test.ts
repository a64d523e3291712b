import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { copyWorkspace } from '../../src/backend/jobs/engines/workspace-copy';
import { tempHome } from './helpers';

/** Every file and symbolic link under `dir`, relative, sorted. */
function filesOf(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? filesOf(dir, rel) : [rel];
    })
    .sort();
}

/**
 * The workspace copied into a job's image layer honours its .dockerignore as `docker build` does:
 * the examples of Docker's own documentation (the builder reference, ".dockerignore file"), on real
 * files.
 */
describe("a job's workspace copied for its image, without what .dockerignore excludes", () => {
  let root: string;
  let cleanup: () => void;
  let n = 0;

  beforeEach(() => {
    const t = tempHome();
    root = path.dirname(t.home);
    cleanup = t.cleanup;
  });
  afterEach(() => cleanup());

  /** a workspace with `files` (and `.dockerignore` when `ignore` is given), copied: what the copy holds */
  function copied(files: string[], ignore?: string): string[] {
    const ws = path.join(root, `ws${++n}`);
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(ws, f)), { recursive: true });
      fs.writeFileSync(path.join(ws, f), f);
    }
    if (ignore !== undefined) {
      fs.writeFileSync(path.join(ws, '.dockerignore'), ignore);
    }
    const dest = path.join(root, `copy${n}`);
    copyWorkspace(ws, dest);
    return filesOf(dest).filter((f) => f !== '.dockerignore');
  }

  it('copies everything without a .dockerignore, contents and modes kept', () => {
    const ws = path.join(root, 'plain');
    fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'src', 'run.sh'), 'echo hi\n', { mode: 0o755 });
    fs.symlinkSync('src/run.sh', path.join(ws, 'run'));
    const dest = path.join(root, 'plain-copy');
    copyWorkspace(ws, dest);
    assert.deepStrictEqual(filesOf(dest), ['run', 'src/run.sh']);
    assert.strictEqual(fs.readFileSync(path.join(dest, 'src', 'run.sh'), 'utf8'), 'echo hi\n');
    assert.strictEqual(fs.statSync(path.join(dest, 'src', 'run.sh')).mode & 0o777, 0o755);
    assert.strictEqual(fs.readlinkSync(path.join(dest, 'run')), 'src/run.sh');
  });

  it('follows the documented example: a comment, */temp*, */*/temp*, temp?', () => {
    const files = [
      'somedir/temporary.txt',
      'somedir/temp/a.txt',
      'somedir/subdir/temporary.txt',
      'somedir/subdir/keep.txt',
      'tempa',
      'tempb',
      'temp',
      'tempab',
      'temporary.txt',
      'a/b/c/temp.txt',
    ];
    assert.deepStrictEqual(copied(files, '# comment\n*/temp*\n*/*/temp*\ntemp?\n'), [
      'a/b/c/temp.txt',
      'somedir/subdir/keep.txt',
      'temp',
      'tempab',
      'temporary.txt',
    ]);
  });

  it('follows ** (any number of folders) and the documented exceptions, the last matching line deciding', () => {
    const go = ['main.go', 'pkg/a.go', 'pkg/deep/b.go', 'pkg/b.txt'];
    assert.deepStrictEqual(copied(go, '**/*.go\n'), ['pkg/b.txt']);
    const md = ['README.md', 'README-secret.md', 'README-public.md', 'guide.md', 'code.py'];
    assert.deepStrictEqual(copied(md, '*.md\n!README.md\n'), ['README.md', 'code.py']);
    assert.deepStrictEqual(copied(md, '*.md\n!README*.md\nREADME-secret.md\n'), [
      'README-public.md',
      'README.md',
      'code.py',
    ]);
    assert.deepStrictEqual(copied(md, '*.md\nREADME-secret.md\n!README*.md\n'), [
      'README-public.md',
      'README-secret.md',
      'README.md',
      'code.py',
    ]);
  });

  it('leaves out a whole folder, yet re-adds a file under an excluded folder when an exception names it', () => {
    const files = ['data/big.csv', 'data/raw/x.csv', 'logs/a.log', 'logs/keep.log', 'train.py'];
    assert.deepStrictEqual(copied(files, 'data\n'), ['logs/a.log', 'logs/keep.log', 'train.py']);
    assert.deepStrictEqual(copied(files, 'data/\nlogs\n!logs/keep.log\n'), ['logs/keep.log', 'train.py']);
    // patterns are anchored at the workspace's root, and case-sensitive as on Linux
    assert.deepStrictEqual(copied(['a/data/x', 'Data/y'], 'data\n'), ['Data/y', 'a/data/x']);
  });

  it('stops past the size limit, saying what to do', () => {
    const ws = path.join(root, 'large');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'a.bin'), Buffer.alloc(4096));
    fs.writeFileSync(path.join(ws, 'b.bin'), Buffer.alloc(4096));
    assert.throws(
      () => copyWorkspace(ws, path.join(root, 'large-copy'), 6000),
      (e: Error & { code?: string }) =>
        e.code === 'workspace_too_large' && /leave it out with a \.dockerignore/.test(e.message),
    );
    // what the .dockerignore leaves out does not count
    fs.writeFileSync(path.join(ws, '.dockerignore'), 'b.bin\n');
    copyWorkspace(ws, path.join(root, 'large-copy2'), 6000);
    assert.deepStrictEqual(filesOf(path.join(root, 'large-copy2')), ['.dockerignore', 'a.bin']);
  });
});
