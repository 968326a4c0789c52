/**
 * A minimal Prometheus text-format registry: counters, gauges and fixed-bucket
 * histograms with label sets. Label values must never carry secrets or PII; callers
 * label by connection name, code and the like.
 */
type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract render(): string[];
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  override render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, number>();
  private readonly collectors: Array<() => void> = [];
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Called before each scrape, to sample a value that lives elsewhere. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }
  override render(): string[] {
    for (const c of this.collectors) c();
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }
  override render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i] ?? 0}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  /** Expositions of other registries (worker threads), merged into render() family by family. */
  private readonly sources: Array<() => string> = [];

  counter(name: string, help: string): Counter {
    return this.register(name, () => new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.register(name, () => new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.register(name, () => new Histogram(name, help, buckets));
  }

  private register<M extends Metric>(name: string, make: () => M): M {
    const existing = this.metrics.get(name);
    if (existing) return existing as M;
    const m = make();
    this.metrics.set(name, m);
    return m;
  }

  /** Adds another registry's exposition (e.g. a worker thread's, relabelled with withLabel) to every render(). */
  addSource(render: () => string): void {
    this.sources.push(render);
  }

  /** Prometheus text exposition format 0.0.4. A family that several sources share is written once, with all their samples. */
  render(): string {
    const families = new Map<string, { head: string[]; samples: string[] }>();
    for (const m of this.metrics.values()) families.set(m.name, { head: [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`], samples: m.render() });
    for (const source of this.sources) {
      let current: { head: string[]; samples: string[] } | undefined;
      for (const line of source().split('\n')) {
        if (line === '') continue;
        const head = /^# (HELP|TYPE) (\S+)/.exec(line);
        if (head) {
          const name = head[2] as string;
          current = families.get(name);
          if (!current) families.set(name, (current = { head: [], samples: [] }));
          if (!current.head.some((h) => h.startsWith(`# ${head[1] as string} `))) current.head.push(line);
        } else current?.samples.push(line);
      }
    }
    const lines: string[] = [];
    for (const f of families.values()) lines.push(...f.head, ...f.samples);
    return lines.join('\n') + '\n';
  }
}

/** Adds `key="value"` to every sample of an exposition (the thread a worker registry belongs to). */
export function withLabel(exposition: string, key: string, value: string): string {
  const label = `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  return exposition
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      const brace = line.indexOf('{');
      const space = line.indexOf(' ');
      if (brace >= 0 && brace < space) return `${line.slice(0, brace + 1)}${label},${line.slice(brace + 1)}`;
      return `${line.slice(0, space)}{${label}}${line.slice(space)}`;
    })
    .join('\n');
}
