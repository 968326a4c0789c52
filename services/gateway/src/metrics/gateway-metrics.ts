import type { Counter, Gauge, Histogram, MetricsRegistry } from '@portcullis/common';

/** The gateway's metrics. Labels are connection names (configured ones only) and codes. */
export interface GatewayMetrics {
  readonly execTotal: Counter;
  readonly execSeconds: Histogram;
  readonly decisions: Gauge;
  readonly decisionRecords: Counter;
  readonly publisher: Gauge;
  readonly auditRefused: Counter;
}

export function gatewayMetrics(registry: MetricsRegistry): GatewayMetrics {
  return {
    execTotal: registry.counter('portcullis_gateway_exec_total', 'Exec calls by connection and outcome code (OK or PCX_*).'),
    execSeconds: registry.histogram('portcullis_gateway_exec_seconds', 'Exec latency at the gateway, by connection.'),
    decisions: registry.gauge('portcullis_gateway_decisions', 'Live block decisions in the decision view.'),
    decisionRecords: registry.counter('portcullis_gateway_decision_records_total', 'Decision records folded into the view, by outcome.'),
    publisher: registry.gauge('portcullis_gateway_publisher', 'Event publisher state (queued, spooled, dropped …) by field.'),
    auditRefused: registry.counter('portcullis_gateway_audit_refused_total', 'Commands refused because strict audit was not acknowledged, by connection.'),
  };
}

/** Samples numeric fields of the publisher's stats() on each scrape. */
export function watchPublisher(metrics: GatewayMetrics, stats: () => object): void {
  metrics.publisher.onCollect(() => {
    for (const [field, value] of Object.entries(stats())) {
      if (typeof value === 'number') metrics.publisher.set(value, { field });
    }
  });
}
