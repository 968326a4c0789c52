import { describe, it, expect } from 'vitest';
import { MetricsRegistry, withLabel } from '../src/index.js';

describe('metrics registry with worker sources', () => {
  it('merges the expositions of worker registries, one family header, every sample labelled with its thread', () => {
    const workers = [0, 1].map((t) => {
      const r = new MetricsRegistry();
      r.counter('events_total', 'Events.').inc(undefined, 10 + t);
      r.gauge('lag', 'Lag.').set(t, { partition: String(t) });
      r.histogram('latency', 'Latency.', [0.1]).observe(0.05);
      return r;
    });
    const main = new MetricsRegistry();
    main.counter('bus_sends_total', 'Sends.').inc();
    workers.forEach((w, t) => main.addSource(() => withLabel(w.render(), 'thread', String(t))));
    const text = main.render();
    expect(text.match(/^# HELP events_total /gm)).toHaveLength(1);
    expect(text.match(/^# TYPE events_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('bus_sends_total 1');
    expect(text).toContain('events_total{thread="0"} 10');
    expect(text).toContain('events_total{thread="1"} 11');
    expect(text).toContain('lag{thread="1",partition="1"} 1');
    expect(text).toContain('latency_bucket{thread="0",le="0.1"} 1');
    expect(text).toContain('latency_sum{thread="1"} 0.05');
    // Each family's samples follow its own header.
    const lines = text.trim().split('\n');
    const header = lines.indexOf('# TYPE lag gauge');
    expect(lines.slice(header + 1, header + 3)).toEqual(['lag{thread="0",partition="0"} 0', 'lag{thread="1",partition="1"} 1']);
  });

  it('escapes the label value', () => {
    expect(withLabel('x 1', 'thread', 'a"b\\c')).toBe('x{thread="a\\"b\\\\c"} 1');
  });
});
