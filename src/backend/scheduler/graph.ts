/** The dependency graph of a project's jobs: edges from an upstream job to the job that runs after it. */
export class JobGraph {
  private readonly up = new Map<string, string[]>();
  private readonly down = new Map<string, string[]>();

  constructor(edges: readonly { readonly job: string; readonly upstream: string }[]) {
    for (const e of edges) {
      this.add(e.upstream, e.job);
    }
  }

  /** A copy without the upstream edges of `job` (to check a new set of them). */
  without(job: string): JobGraph {
    const edges: { job: string; upstream: string }[] = [];
    for (const [to, froms] of this.up) {
      if (to !== job) {
        edges.push(...froms.map((from) => ({ job: to, upstream: from })));
      }
    }
    return new JobGraph(edges);
  }

  link(from: string, to: string): void {
    this.add(from, to);
  }

  private add(from: string, to: string): void {
    this.down.set(from, [...(this.down.get(from) ?? []), to]);
    this.up.set(to, [...(this.up.get(to) ?? []), from]);
  }

  upstreams(job: string): readonly string[] {
    return this.up.get(job) ?? [];
  }

  downstreams(job: string): readonly string[] {
    return this.down.get(job) ?? [];
  }

  /** Every job that runs after `job`, directly or not. */
  descendants(job: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...this.downstreams(job)];
    while (stack.length > 0) {
      const j = stack.pop()!;
      if (!seen.has(j)) {
        seen.add(j);
        stack.push(...this.downstreams(j));
      }
    }
    return seen;
  }

  /**
   * The cycle that making `job` run after `upstream` would close, as the path job -> ... -> upstream
   * -> job, or undefined when there is none.
   */
  cycleIfAdded(job: string, upstream: string): string[] | undefined {
    if (job === upstream) {
      return [job, job];
    }
    // a path from job down to upstream, found breadth first (the shortest one names the cycle best)
    const parent = new Map<string, string>([[job, job]]);
    const queue = [job];
    while (queue.length > 0) {
      const j = queue.shift()!;
      for (const d of this.downstreams(j)) {
        if (parent.has(d)) {
          continue;
        }
        parent.set(d, j);
        if (d === upstream) {
          const path = [d];
          for (let p = j; p !== job; p = parent.get(p)!) {
            path.unshift(p);
          }
          return [job, ...path, job];
        }
        queue.push(d);
      }
    }
    return undefined;
  }

  /** `jobs` ordered so that each comes after its upstreams among them. */
  order(jobs: ReadonlySet<string>): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (j: string) => {
      if (seen.has(j)) {
        return;
      }
      seen.add(j);
      for (const u of this.upstreams(j)) {
        if (jobs.has(u)) {
          visit(u);
        }
      }
      out.push(j);
    };
    for (const j of jobs) {
      visit(j);
    }
    return out;
  }
}
