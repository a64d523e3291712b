import * as fs from 'fs';
import * as path from 'path';
import type * as vscode from 'vscode';
import { parse as parseYaml } from 'yaml';
import type { Ui } from '../common/ui';

/** Params files looked for next to a script, in this order. */
export const PARAMS_FILES = ['params.yaml', 'params.yml', 'params.json'];

/** The params in the file next to `script`, or undefined when there is none. */
export function readParamsFile(script: string): { file: string; params: Record<string, unknown> } | undefined {
  for (const name of PARAMS_FILES) {
    const file = path.join(path.dirname(script), name);
    if (!fs.existsSync(file)) {
      continue;
    }
    const text = fs.readFileSync(file, 'utf8');
    let value: unknown;
    try {
      value = name.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
      throw new Error(`${file} is not valid ${name.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
    }
    if (value === null || value === undefined) {
      return { file, params: {} };
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${file} must hold a mapping of param names to values, e.g. "lr: 0.1".`);
    }
    return { file, params: value as Record<string, unknown> };
  }
  return undefined;
}

/**
 * `lr=0.1 epochs=3` -> { lr: 0.1, epochs: 3 }: values that parse as JSON keep their type; a value
 * cannot hold spaces (a params file can).
 */
export function parseParamsText(text: string): Record<string, unknown> | string {
  const params: Record<string, unknown> = {};
  for (const token of text.split(/\s+/).filter((t) => t.length > 0)) {
    const eq = token.indexOf('=');
    if (eq <= 0) {
      return `"${token}" is not KEY=VALUE: write params as lr=0.1 epochs=3`;
    }
    const raw = token.slice(eq + 1);
    try {
      params[token.slice(0, eq)] = JSON.parse(raw);
    } catch {
      params[token.slice(0, eq)] = raw;
    }
  }
  return params;
}

export function formatParams(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** Asks for params, prefilled with `initial`; undefined when the person cancels. */
export async function askParams(
  ui: Ui,
  title: string,
  initial: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown> | undefined> {
  const text = await ui.input({
    title,
    value: formatParams(initial),
    prompt: `Params as KEY=VALUE separated by spaces (empty for none); or put them in ${PARAMS_FILES.join(' / ')} next to the script`,
    placeHolder: 'lr=0.1 epochs=3',
    validateInput: (t) => {
      const parsed = parseParamsText(t);
      return typeof parsed === 'string' ? parsed : undefined;
    },
  });
  if (text === undefined) {
    return undefined;
  }
  const parsed = parseParamsText(text);
  return typeof parsed === 'string' ? undefined : parsed;
}

/** The params last used for a script in this workspace. */
export class LastParams {
  constructor(private readonly memento: vscode.Memento) {}

  get(script: string): Record<string, unknown> {
    return this.memento.get<Record<string, unknown>>(`mllab.params:${script}`, {});
  }

  set(script: string, params: Record<string, unknown>): Thenable<void> {
    return this.memento.update(`mllab.params:${script}`, params);
  }
}
