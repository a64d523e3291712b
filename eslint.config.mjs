// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const root = import.meta.dirname;

/**
 * The package boundaries (docs/ARCHITECTURE.md). Each package either lists what it must not import
 * (`deny`, with `except` for single files allowed in a denied folder) or the only folders it may
 * import (`only`; its own folder always). `vscode`: whether it may import the editor's API;
 * `browser`: code that runs in a webview (no Node modules); `packages: false`: no npm packages at all.
 */
const PACKAGES = [
  { folder: 'src/backend', deny: ['src/client', 'src/extension', 'src/cli', 'webviews'] },
  { folder: 'src/extension', deny: ['src/backend', 'src/cli', 'webviews'], vscode: true },
  { folder: 'src/client', deny: ['src/backend', 'src/extension', 'src/cli', 'webviews'] },
  { folder: 'src/cli', deny: ['src/backend', 'src/extension', 'webviews'] },
  // `mllab serve` runs the backend in the CLI's process, loaded only by that command
  { file: 'src/cli/main.ts', deny: ['src/backend', 'src/extension', 'webviews'], except: ['src/backend/main.ts'] },
  { folder: 'src/common', only: ['src/common', 'src/protocol'] },
  // shared with the webviews: browser-safe
  { folder: 'src/common/compare', only: ['src/common/compare', 'src/protocol'], browser: true },
  { folder: 'src/protocol', only: ['src/protocol'], packages: false },
  { folder: 'webviews/*', only: ['src/protocol', 'src/common/compare', 'webviews/common'], browser: true },
];

/** Folders and files (without extension) below `dir`, relative to the root, in posix form. */
function entries(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory() || /\.tsx?$/.test(e.name))
    .map((e) => ({ path: `${dir}/${e.name.replace(/\.tsx?$/, '')}`, dir: e.isDirectory() }));
}

const inside = (p, folder) => p === folder || p.startsWith(`${folder}/`);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The import specifiers (as regular expressions) that a file in `dir` must not use under `rules`:
 * the tree below src/ and webviews/ is walked, and each folder or file whose imports are all denied
 * becomes one pattern, spelled relative to `dir` (as imports are written; the rule sees no resolved
 * paths).
 */
function deniedSpecifiers(dir, rules, allowByDefault) {
  const decide = (p) => {
    let best;
    for (const r of rules) {
      if (inside(p, r.path) && (!best || r.path.length > best.path.length)) {
        best = r;
      }
    }
    return best ? best.allow : allowByDefault;
  };
  const out = [];
  const walk = (entry) => {
    const here = decide(entry.path);
    const mixed = rules.some((r) => r.path !== entry.path && inside(r.path, entry.path) && r.allow !== here);
    let rel = path.posix.relative(dir, entry.path);
    rel = rel.startsWith('.') ? rel : `./${rel}`;
    if (mixed && entry.dir) {
      if (!decide(`${entry.path}/index`)) {
        out.push(`^${escape(rel)}/?$`);
      }
      entries(entry.path).forEach(walk);
    } else if (!here) {
      out.push(`^${escape(rel)}${entry.dir ? '(/|$)' : '(\\.[jt]s)?$'}`);
    }
  };
  ['src', 'webviews'].forEach((top) => walk({ path: top, dir: true }));
  return out;
}

const NODE_MODULES = `^(node:|(${builtinModules.map(escape).join('|')})(/|$))`;

/** One config per source folder (and per excepted file): its package's boundary as lint rules. */
function boundaries() {
  const folders = [];
  const collect = (dir) => {
    folders.push(dir);
    entries(dir)
      .filter((e) => e.dir)
      .forEach((e) => collect(e.path));
  };
  ['src', 'webviews'].forEach(collect);
  const configs = [];
  const packageOf = (p) =>
    PACKAGES.filter((k) => k.folder)
      .map((k) => ({ ...k, folder: k.folder.endsWith('/*') ? p.split('/').slice(0, 2).join('/') : k.folder }))
      .filter((k) => inside(p, k.folder))
      .sort((a, b) => b.folder.length - a.folder.length)[0];
  const build = (dir, files, pkg) => {
    const rules = pkg.only
      ? [...pkg.only, pkg.folder ?? dir].map((p) => ({ path: p, allow: true }))
      : [
          ...pkg.deny.map((p) => ({ path: p, allow: false })),
          ...(pkg.except ?? []).map((p) => ({ path: p.replace(/\.ts$/, ''), allow: true })),
        ];
    const where = pkg.file ?? pkg.folder;
    const patterns = deniedSpecifiers(dir, rules, !pkg.only).map((regex) => ({
      regex,
      message: `${where} must not import this (package boundaries: eslint.config.mjs).`,
    }));
    if (!pkg.vscode) {
      patterns.push({ regex: '^vscode$', message: 'Only src/extension may import vscode.' });
    }
    if (pkg.browser) {
      patterns.push({ regex: NODE_MODULES, message: `${where} runs in a webview: no Node modules.` });
    }
    if (pkg.packages === false) {
      patterns.push({ regex: '^[^.]', message: `${where} imports nothing but ${where}.` });
    }
    // import() and require() are not checked by no-restricted-imports
    const syntax = patterns.flatMap((p) =>
      ['ImportExpression > Literal.source', "CallExpression[callee.name='require'] > Literal.arguments"].map((s) => ({
        selector: `${s}[value=/${p.regex.replace(/\//g, '\\x2F')}/]`,
        message: p.message,
      })),
    );
    configs.push({
      files,
      rules: {
        'no-restricted-imports': ['error', { patterns }],
        'no-restricted-syntax': ['error', ...syntax],
      },
    });
  };
  for (const dir of folders) {
    const pkg = packageOf(dir);
    if (pkg) {
      build(dir, [`${dir}/*.ts`], pkg);
    }
  }
  for (const pkg of PACKAGES.filter((k) => k.file)) {
    build(path.posix.dirname(pkg.file), [pkg.file], pkg);
  }
  return configs;
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      '.out-*/',
      '.demo/',
      'test-artifacts/',
      'bench-results/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      eqeqeq: 'error',
      curly: 'error',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...boundaries(),
);
