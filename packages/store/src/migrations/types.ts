/** One schema version: statements run in order, each idempotent on its own (IF NOT EXISTS) so a half-applied migration can be re-run. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (database: string) => readonly string[];
}
