import type uPlot from 'uplot';

/**
 * Colours of the charts (the metric charts, the sweep page's). Runs use the Okabe-Ito palette, designed to stay distinguishable with the
 * common kinds of colour blindness; its black is replaced by the theme's foreground so it shows on
 * dark themes too. Beyond 8 runs colours repeat with another dash pattern. Axes, grid and text come
 * from the --vscode-* variables of the current theme and are re-read when the theme changes.
 */
const OKABE_ITO = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7'];
const DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3]];

export interface Theme {
  readonly foreground: string;
  readonly muted: string;
  readonly background: string;
  readonly grid: string;
  readonly font: string;
  readonly error: string;
  /** 'light' | 'dark' | 'high-contrast' */
  readonly kind: string;
}

export interface RunStyle {
  readonly stroke: string;
  /** the raw line when smoothing is on: the same colour, faint */
  readonly faint: string;
  readonly dash: number[];
}

/** resolved colours, by colour and alpha: resolving forces a style recalculation, so once each */
const resolved = new Map<string, string>();

/** A CSS colour as rgba() with the given alpha (resolved by the browser, so any CSS colour works). */
export function withAlpha(color: string, alpha: number): string {
  const key = `${color} ${alpha}`;
  let rgba = resolved.get(key);
  if (rgba === undefined) {
    rgba = resolve(color, alpha);
    resolved.set(key, rgba);
  }
  return rgba;
}

function resolve(color: string, alpha: number): string {
  const probe = document.createElement('span');
  probe.style.color = color;
  document.body.append(probe);
  const rgb = getComputedStyle(probe).color;
  probe.remove();
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(rgb);
  return m ? `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})` : color;
}

export function readTheme(): Theme {
  resolved.clear(); // a theme change can change what a variable resolves to
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const foreground = v('--vscode-foreground', '#cccccc');
  const classes = document.body.classList;
  return {
    foreground,
    muted: v('--vscode-descriptionForeground', foreground),
    background: v('--vscode-editor-background', '#1e1e1e'),
    grid: withAlpha(v('--vscode-editorWidget-border', foreground), 0.35),
    font: `${v('--vscode-font-size', '13px')} ${v('--vscode-font-family', 'sans-serif')}`,
    error: v('--vscode-errorForeground', '#f14c4c'),
    kind: classes.contains('vscode-high-contrast')
      ? 'high-contrast'
      : classes.contains('vscode-light')
        ? 'light'
        : 'dark',
  };
}

/** The line style of the run with this colour index; deleted runs are grey. */
export function runStyle(colour: number, theme: Theme, deleted: boolean): RunStyle {
  const palette = [...OKABE_ITO, theme.foreground];
  const base = deleted ? theme.muted : palette[colour % palette.length];
  const stroke = deleted ? withAlpha(base, 0.5) : base;
  return {
    stroke,
    faint: withAlpha(base, deleted ? 0.2 : 0.3),
    dash: DASHES[Math.floor(colour / palette.length) % DASHES.length],
  };
}

/** Calls `onChange` when VS Code switches the theme (it changes the body's class and variables). */
export function watchTheme(onChange: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className !== last) {
      last = document.body.className;
      onChange();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
}

/** An axis drawn in the theme's colours and font, with a faint grid. */
export function themedAxis(theme: Theme): uPlot.Axis {
  return {
    stroke: theme.foreground,
    font: theme.font,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
  };
}
