/**
 * Runs `body` until SIGINT or SIGTERM, handing it a `stopped()` probe; resolves once the
 * body has returned. Long-running commands use this so that Ctrl-C means a clean stop.
 */
export async function untilSignal(body: (stopped: () => boolean) => Promise<void>): Promise<void> {
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await body(() => stop);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Resolves on the first SIGINT or SIGTERM, with its name. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
