import type { Logger } from '@portcullis/common';

/**
 * Ordered shutdown: steps are closed in the order they are listed (the caller lists
 * them front door first), each awaited, and a failing step is logged and does not stop
 * the ones after it — a stuck sink must not leave the demo database's files open.
 */
export class Shutdown {
  private readonly steps: Array<{ name: string; close: () => Promise<void> }> = [];

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<void>): void {
    this.steps.push({ name, close });
  }

  async run(order: readonly string[]): Promise<void> {
    const ordered = [...this.steps].sort((a, b) => rank(order, a.name) - rank(order, b.name));
    this.steps.length = 0;
    for (const step of ordered) {
      try {
        await step.close();
        this.logger.debug({ step: step.name }, 'closed');
      } catch (e) {
        this.logger.error({ step: step.name, err: (e as Error).message }, 'close failed');
      }
    }
  }
}

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name);
  return i === -1 ? order.length : i;
}
