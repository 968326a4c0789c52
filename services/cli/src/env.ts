/**
 * The one place this process reads its environment. Everything else receives a CliEnv
 * (or the plain record, for resolving `${env:NAME}` references) as an argument, so
 * tests pass their own and no module reaches for process.env behind a caller's back.
 */
export interface CliEnv {
  /** host:port of a gateway's gRPC front end. */
  readonly gateway: string | undefined;
  /** A bearer token for that gateway. */
  readonly token: string | undefined;
  /** Path of the config file. */
  readonly config: string | undefined;
  /** The whole environment, for credential references in the config. */
  readonly vars: Readonly<Record<string, string | undefined>>;
}

export function cliEnvFrom(vars: Readonly<Record<string, string | undefined>>): CliEnv {
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());
  return {
    gateway: nonEmpty(vars.PORTCULLIS_GATEWAY),
    token: nonEmpty(vars.PORTCULLIS_TOKEN),
    config: nonEmpty(vars.PORTCULLIS_CONFIG),
    vars,
  };
}

export function readProcessEnv(): CliEnv {
  return cliEnvFrom({ ...process.env });
}
