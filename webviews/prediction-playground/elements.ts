/** Small builders of the playground's controls. Text is always set with textContent. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-multi-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeMultiSelect } from '@vscode-elements/elements/dist/vscode-multi-select/vscode-multi-select.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import { el } from '../common/dom';

/** A button; `onClick` may also be added later (the page's controls are wired in controls.ts). */
export function vbutton(label: string, onClick?: () => void, primary = false): VscodeButton {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.secondary = !primary;
  if (onClick) {
    b.addEventListener('click', onClick);
  }
  return b;
}

export function options(
  select: VscodeSingleSelect | VscodeMultiSelect,
  choices: { value: string; label: string }[],
  chosen: string[],
): void {
  select.replaceChildren(
    ...choices.map((c) => {
      const o = document.createElement('vscode-option');
      o.value = c.value;
      o.textContent = c.label;
      o.selected = chosen.includes(c.value);
      return o;
    }),
  );
}

/** The CSS class of a service status's colour. */
export function tone(status: string): string {
  return status === 'healthy' || status === 'running'
    ? 'ok'
    : status === 'starting'
      ? 'warn'
      : status === 'unhealthy' || status === 'exited'
        ? 'bad'
        : 'idle';
}

export function label(text: string, target: HTMLElement): HTMLLabelElement {
  const l = el('label', undefined, text);
  l.htmlFor = target.id;
  return l;
}

export function numberInput(id: string, name: string, value: number, onChange: () => void): HTMLInputElement {
  const input = el('input');
  input.type = 'number';
  input.id = id;
  input.min = '1';
  input.step = '1';
  input.value = String(value);
  input.setAttribute('aria-label', name);
  input.addEventListener('change', onChange);
  return input;
}
