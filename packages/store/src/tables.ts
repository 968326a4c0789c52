/** The tables the sink writes, one per topic it reads. */
export const SinkTables = ['events', 'alerts', 'decisions', 'approvals'] as const;
export type SinkTable = (typeof SinkTables)[number];
