/** The tables the sink writes, one per topic it reads. */
export const SinkTables = ['events', 'alerts', 'decisions', 'approvals', 'changes'] as const;
export type SinkTable = (typeof SinkTables)[number];
