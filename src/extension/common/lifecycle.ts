import * as vscode from 'vscode';

export interface IDisposable {
  dispose(): void;
}

export function toDisposable(fn: () => void): IDisposable {
  return { dispose: fn };
}

/** Base for objects that own other disposables; disposing it disposes them, newest first. */
export abstract class Disposable implements IDisposable {
  private readonly owned: IDisposable[] = [];
  private disposed = false;

  protected _register<T extends IDisposable>(d: T): T {
    if (this.disposed) {
      d.dispose();
    } else {
      this.owned.push(d);
    }
    return d;
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    for (const d of this.owned.reverse()) {
      d.dispose();
    }
    this.owned.length = 0;
  }
}

/** Holds at most one disposable; setting a new value disposes the old one. */
export class MutableDisposable<T extends IDisposable> implements IDisposable {
  private current: T | undefined;

  get value(): T | undefined {
    return this.current;
  }

  set value(v: T | undefined) {
    if (v !== this.current) {
      this.current?.dispose();
      this.current = v;
    }
  }

  dispose(): void {
    this.value = undefined;
  }
}

export type Event<T> = vscode.Event<T>;

/**
 * One event that fires whenever any of `events` fires: a view drawn from two models listens to both
 * without an emitter of its own.
 */
export function anyEvent(...events: readonly vscode.Event<void>[]): vscode.Event<void> {
  return (listener, thisArgs?, disposables?) => {
    const subscription = vscode.Disposable.from(...events.map((e) => e(listener, thisArgs)));
    disposables?.push(subscription);
    return subscription;
  };
}
