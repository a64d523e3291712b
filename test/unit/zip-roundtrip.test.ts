/**
 * Round-trip property: random folder trees (seeded, bounded) with awkward but legal names (Unicode
 * in both normal forms, spaces, leading and trailing dots, characters only Windows forbids, deep
 * nesting, empty files, empty folders), packaged by ML Lab, always unpack byte-identical in both
 * unpackers; and the same trees with one bad name added are always refused, naming it.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { packFolder, PackagingRefusal } from '../../src/common/zip/pack';
import { collisionKey } from '../../src/common/zip/entry-paths';
import { listZip, unzipSafe } from '../../src/common/zip/safe-unzip';
import {
  csvText,
  prng,
  pythonUnpackMany,
  randomBytesSeeded,
  readTree,
  tempDir,
  treeDifferences,
  type TreeItem,
} from './zip-helpers';

const SEEDS = Array.from({ length: 16 }, (_, i) => 1000 + i * 7919);

/** Pieces names are made of: each legal in a Linux file name, several awkward. */
const PIECES = [
  'a',
  'Z',
  'data',
  'train',
  'v2',
  '0',
  '\u00e9', // é, composed (NFC)
  'e\u0301', // é, decomposed (NFD), as macOS's HFS+ wrote names
  '\u00fc',
  '\u00df',
  '\u65e5\u672c',
  '\ub370\uc774\ud130',
  '\u03a9\u03bc\u03ad\u03b3\u03b1',
  '\u0645\u0631\u062d\u0628\u0627',
  '\u{1F642}',
  '\u{1F469}\u200d\u{1F52C}',
  ' ',
  '  ',
  '-',
  '_',
  '.',
  '..',
  '~',
  '!',
  '$',
  '&',
  "'",
  '(',
  ')',
  '+',
  ',',
  ';',
  '=',
  '@',
  '[',
  ']',
  '{',
  '}',
  '#',
  '%',
  '^',
  '`',
  ':',
  '"',
  '*',
  '?',
  '<',
  '>',
  '|',
  '\t',
];

interface Generated {
  readonly root: string;
  readonly files: number;
  /** folders, as paths relative to the root */
  readonly folders: string[];
}

/** A random tree under `root`, the same for the same seed. */
function generateTree(root: string, seed: number): Generated {
  const next = prng(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]) => items[int(items.length)];
  let entries = 0;
  let files = 0;
  const folders: string[] = [];
  const budget = 60 + int(40);

  /** a name unique in `taken` (ignoring case and normal form); short ones keep deep paths in bounds */
  const nameIn = (taken: Set<string>, top: boolean, short = false): string => {
    for (;;) {
      let name = next() < 0.25 ? '.' : '';
      const pieces = short ? 1 : 1 + int(5);
      for (let i = 0; i < pieces; i++) {
        name += pick(PIECES);
      }
      if (!short && next() < 0.5) {
        name += pick(['.csv', '.txt', '.parquet', '.npy', '.tar.gz', '', '.', ' ']);
      }
      const key = collisionKey([name], 'darwin');
      const legal =
        name !== '.' && name !== '..' && Buffer.byteLength(name) <= 255 && !(top && /^[a-zA-Z]:/.test(name));
      if (legal && !taken.has(key)) {
        taken.add(key);
        return name;
      }
    }
  };

  const writeFile = (file: string) => {
    const kind = next();
    let content: Buffer;
    if (kind < 0.25) {
      content = Buffer.alloc(0);
    } else if (kind < 0.6) {
      content = randomBytesSeeded(1 + int(200), int(1e9));
    } else if (kind < 0.85) {
      content = csvText(1 + int(20000), int(1e9));
    } else if (kind < 0.98) {
      content = randomBytesSeeded(1 + int(65536), int(1e9));
    } else {
      content = csvText((1 << 20) + int(1 << 20), int(1e9)); // more than one 1 MiB chunk
    }
    fs.writeFileSync(file, content);
    files++;
  };

  const fill = (dir: string, rel: string, depth: number) => {
    const taken = new Set<string>();
    const children = depth === 0 ? 3 + int(5) : int(6);
    for (let i = 0; i < children && entries < budget; i++) {
      const name = nameIn(taken, depth === 0);
      const full = path.join(dir, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      entries++;
      if ((depth === 0 && i === 0) || next() < 0.55 || depth >= 6) {
        writeFile(full);
      } else {
        fs.mkdirSync(full);
        folders.push(childRel);
        if (next() < 0.08) {
          // deep nesting: a chain of 20 to 60 folders, with a file (or nothing) at the end
          let chain = full;
          let chainRel = childRel;
          for (let d = 20 + int(40); d > 0 && entries < budget + 60; d--) {
            const link = nameIn(new Set(), false, true);
            chain = path.join(chain, link);
            chainRel = `${chainRel}/${link}`;
            fs.mkdirSync(chain);
            folders.push(chainRel);
            entries++;
          }
          if (next() < 0.7) {
            writeFile(path.join(chain, 'end.txt'));
          }
        } else {
          fill(full, childRel, depth + 1); // may stay empty
        }
      }
    }
  };

  fs.mkdirSync(root);
  fill(root, '', 0);
  return { root, files, folders };
}

describe('zip round trip: random trees unpack byte-identical in both unpackers', function () {
  this.timeout(300000);
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it(`packages ${SEEDS.length} random trees, and both clients unpack each to the same bytes and names`, async () => {
    const jobs: Array<{ zip: string; dest: string; source: string; seed: number }> = [];
    let files = 0;
    let emptyFolders = 0;
    const seen = new Set<string>();
    const features: Record<string, (name: string, item: TreeItem) => boolean> = {
      'a decomposed (NFD) name': (name) => name.includes('\u0301'),
      'a name of 4-byte characters': (name) => /\p{Extended_Pictographic}/u.test(name),
      'a leading dot': (name) => /(^|\/)\./.test(name),
      'a space at the end of a name': (name) => / ($|\/)/.test(name),
      'a character Windows forbids': (name) => /[:*?"<>|\t]/.test(name),
      'a path 30 levels deep': (name) => name.split('/').length >= 30,
      'an empty file': (_, item) => item.kind === 'file' && item.content.length === 0,
      'a file over 1 MiB': (_, item) => item.kind === 'file' && item.content.length > 1 << 20,
    };
    for (const seed of SEEDS) {
      const tree = generateTree(path.join(dir, `tree-${seed}`), seed);
      const zip = path.join(dir, `tree-${seed}.zip`);
      const result = await packFolder(tree.root, zip);
      assert.strictEqual(result.files, tree.files, `seed ${seed}: every file is packaged`);
      const source = readTree(tree.root);
      for (const [name, item] of source) {
        Object.entries(features).forEach(([feature, has]) => has(name, item) && seen.add(feature));
      }
      // the zip names exactly the files and folders, with / separators, as UTF-8
      assert.deepStrictEqual(
        (await listZip(zip)).map((e) => e.name.replace(/\/$/, '')).sort(),
        [...source.keys()].sort(),
        `seed ${seed}: entry names`,
      );
      const dest = path.join(dir, `node-${seed}`);
      await unzipSafe(zip, dest);
      assert.deepStrictEqual(treeDifferences(source, readTree(dest)), [], `seed ${seed}: the Node client`);
      jobs.push({ zip, dest: path.join(dir, `python-${seed}`), source: tree.root, seed });
      files += tree.files;
      emptyFolders += tree.folders.filter((f) => fs.readdirSync(path.join(tree.root, f)).length === 0).length;
    }
    const python = pythonUnpackMany(jobs);
    jobs.forEach((job, i) => {
      assert.deepStrictEqual(python[i], {}, `seed ${job.seed}: the Python client`);
      assert.deepStrictEqual(
        treeDifferences(readTree(job.source), readTree(job.dest)),
        [],
        `seed ${job.seed}: the Python client`,
      );
    });
    // the generator really made what the property is about
    assert.ok(files > 100 && emptyFolders > 5, `${files} files, ${emptyFolders} empty folders`);
    assert.deepStrictEqual(
      Object.keys(features).filter((f) => !seen.has(f)),
      [],
      'every kind of awkward name and file was generated',
    );
  });

  it('refuses the same trees with one bad name added anywhere, naming it, writing nothing', async () => {
    const poisons: Array<{ what: string; add: (folder: string, sibling: string | undefined) => string | undefined }> = [
      {
        what: 'a backslash',
        add: (folder) => {
          const name = 'left\\right.csv';
          fs.writeFileSync(path.join(folder, name), 'x');
          return name;
        },
      },
      {
        what: 'a name differing from a sibling only in case',
        add: (folder, sibling) => {
          if (sibling === undefined) {
            return undefined;
          }
          const twin = sibling.replace(/[a-z]/, (c) => c.toUpperCase());
          fs.writeFileSync(path.join(folder, twin), 'x');
          return twin;
        },
      },
      {
        what: 'a name in the other Unicode normal form of a sibling',
        add: (folder) => {
          fs.writeFileSync(path.join(folder, 'caf\u00e9.csv'), 'nfc');
          fs.writeFileSync(path.join(folder, 'cafe\u0301.csv'), 'nfd');
          return 'caf';
        },
      },
    ];
    let refusals = 0;
    for (const seed of SEEDS) {
      const next = prng(seed + 1);
      const root = path.join(dir, `poisoned-${seed}`);
      const tree = generateTree(root, seed);
      const folder =
        tree.folders.length > 0 && next() < 0.8
          ? path.join(root, tree.folders[Math.floor(next() * tree.folders.length)])
          : root;
      const sibling = fs.readdirSync(folder).find((n) => /[a-z]/.test(n));
      const poison = poisons[seed % poisons.length];
      const named = poison.add(folder, sibling);
      if (named === undefined) {
        continue;
      }
      const out = path.join(dir, `poisoned-${seed}.zip`);
      await assert.rejects(packFolder(root, out), (e: Error) => {
        assert.ok(e instanceof PackagingRefusal, `seed ${seed}, ${poison.what}: ${e.name}: ${e.message}`);
        assert.strictEqual(e.reason, 'bad_file_name');
        assert.ok(e.message.includes(named), `seed ${seed}, ${poison.what}: names "${named}": ${e.message}`);
        return true;
      });
      assert.ok(!fs.existsSync(out), 'nothing is written');
      refusals++;
    }
    assert.ok(refusals >= SEEDS.length / 2, `${refusals} trees refused`);
  });
});
