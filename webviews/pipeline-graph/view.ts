/**
 * Pan and zoom of the graph: drag the background to pan, the wheel zooms around the pointer, the
 * toolbar and the keys + - 0 zoom and fit. The view is a translate-then-scale transform of one
 * SVG group; it is kept with the page state so a panel shown again looks the same.
 */

export interface ViewTransform {
  readonly scale: number;
  readonly x: number;
  readonly y: number;
  /** false until the person pans or zooms: until then every change of graph or size refits */
  readonly moved: boolean;
}

const MIN_SCALE = 0.2;
const MAX_SCALE = 3;
const MARGIN = 16;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export class PanZoom {
  private content = { width: 1, height: 1 };
  private drag: { id: number; x: number; y: number } | undefined;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly layer: SVGGElement,
    private view: ViewTransform,
    private readonly onChange: (view: ViewTransform) => void,
  ) {
    svg.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    svg.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    svg.addEventListener('pointermove', (e) => this.onPointerMove(e));
    svg.addEventListener('pointerup', (e) => this.onPointerUp(e));
    svg.addEventListener('pointercancel', (e) => this.onPointerUp(e));
    new ResizeObserver(() => {
      if (!this.view.moved) {
        this.fit();
      }
    }).observe(svg);
  }

  get current(): ViewTransform {
    return this.view;
  }

  /** A new graph of this size: fitted unless the person moved the view. */
  setContent(width: number, height: number): void {
    this.content = { width, height };
    if (this.view.moved) {
      this.apply();
    } else {
      this.fit();
    }
  }

  /** Fits the whole graph into the view (never above 100 %). */
  fit(): void {
    const { width, height } = this.svg.getBoundingClientRect();
    if (width <= 0 || height <= 0) {
      return;
    }
    const scale = clamp(
      Math.min((width - 2 * MARGIN) / this.content.width, (height - 2 * MARGIN) / this.content.height, 1),
      MIN_SCALE,
      MAX_SCALE,
    );
    const x = Math.max(MARGIN, (width - this.content.width * scale) / 2);
    const y = Math.max(MARGIN, (height - this.content.height * scale) / 2);
    this.set({ scale, x, y, moved: false });
  }

  /** Zooms by a factor around a point of the view (its centre by default). */
  zoom(factor: number, at?: { x: number; y: number }): void {
    const rect = this.svg.getBoundingClientRect();
    const cx = at?.x ?? rect.width / 2;
    const cy = at?.y ?? rect.height / 2;
    const scale = clamp(this.view.scale * factor, MIN_SCALE, MAX_SCALE);
    const k = scale / this.view.scale;
    this.set({ scale, x: cx - (cx - this.view.x) * k, y: cy - (cy - this.view.y) * k, moved: true });
  }

  pan(dx: number, dy: number): void {
    this.set({ ...this.view, x: this.view.x + dx, y: this.view.y + dy, moved: true });
  }

  /** Scrolls the least needed to show a box (in graph coordinates), e.g. one reached with Tab. */
  reveal(x: number, y: number, width: number, height: number): void {
    const rect = this.svg.getBoundingClientRect();
    const { scale } = this.view;
    const left = this.view.x + x * scale;
    const top = this.view.y + y * scale;
    let dx = 0;
    let dy = 0;
    if (left < MARGIN) {
      dx = MARGIN - left;
    } else if (left + width * scale > rect.width - MARGIN) {
      dx = rect.width - MARGIN - (left + width * scale);
    }
    if (top < MARGIN) {
      dy = MARGIN - top;
    } else if (top + height * scale > rect.height - MARGIN) {
      dy = rect.height - MARGIN - (top + height * scale);
    }
    if (dx !== 0 || dy !== 0) {
      this.pan(dx, dy);
    }
  }

  private set(view: ViewTransform): void {
    this.view = view;
    this.apply();
    this.onChange(view);
  }

  private apply(): void {
    const { x, y, scale } = this.view;
    this.layer.setAttribute('transform', `translate(${x.toFixed(1)} ${y.toFixed(1)}) scale(${scale.toFixed(4)})`);
    this.svg.dataset.scale = scale.toFixed(3);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const rect = this.svg.getBoundingClientRect();
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    this.zoom(Math.exp(-delta * 0.0015), { x: e.clientX - rect.left, y: e.clientY - rect.top });
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0 || (e.target as Element).closest('.card')) {
      return; // boxes keep their clicks; only the background pans
    }
    this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
    this.svg.setPointerCapture(e.pointerId);
    this.svg.classList.add('dragging');
  }

  private onPointerMove(e: PointerEvent): void {
    if (this.drag?.id !== e.pointerId) {
      return;
    }
    const dx = e.clientX - this.drag.x;
    const dy = e.clientY - this.drag.y;
    this.drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
    this.pan(dx, dy);
  }

  private onPointerUp(e: PointerEvent): void {
    if (this.drag?.id === e.pointerId) {
      this.drag = undefined;
      this.svg.releasePointerCapture(e.pointerId);
      this.svg.classList.remove('dragging');
    }
  }
}
