/** The native-looking controls (vscode-elements) the toolbar is built from, and small helpers. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-multi-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { VscodeMultiSelect } from '@vscode-elements/elements/dist/vscode-multi-select/vscode-multi-select.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { el } from '../common/dom';

export type { VscodeButton, VscodeCheckbox, VscodeMultiSelect, VscodeSingleSelect, VscodeTextfield };

export function button(label: string, onClick: () => void, secondary = true): VscodeButton {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.secondary = secondary;
  b.addEventListener('click', onClick);
  return b;
}

export function checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void): VscodeCheckbox {
  const c = document.createElement('vscode-checkbox');
  c.label = label;
  c.checked = checked;
  c.addEventListener('change', () => onChange(c.checked));
  return c;
}

export function textfield(placeholder: string, value: string, label: string): VscodeTextfield {
  const t = document.createElement('vscode-textfield');
  t.placeholder = placeholder;
  t.value = value;
  t.setAttribute('aria-label', label);
  return t;
}

export interface Choice {
  readonly value: string;
  readonly label: string;
}

/** Replaces a select's options (vscode-option elements); `selected` are marked chosen. */
export function setOptions(
  select: VscodeSingleSelect | VscodeMultiSelect,
  choices: readonly Choice[],
  selected: readonly string[],
): void {
  const chosen = new Set(selected);
  select.replaceChildren(
    ...choices.map((c) => {
      const o = document.createElement('vscode-option');
      o.value = c.value;
      o.textContent = c.label;
      o.selected = chosen.has(c.value);
      return o;
    }),
  );
}

export function singleSelect(label: string, onChange: (value: string) => void): VscodeSingleSelect {
  const s = document.createElement('vscode-single-select');
  s.setAttribute('aria-label', label);
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

export function multiSelect(label: string, onChange: (values: string[]) => void): VscodeMultiSelect {
  const s = document.createElement('vscode-multi-select');
  s.setAttribute('aria-label', label);
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

/** A control with its label before it, on one line. */
export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const l = el('label', 'inline', text);
  l.append(control);
  return l;
}
