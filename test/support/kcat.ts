// Test support: kcat, the command-line Kafka client a SOC analyst reaches for, reading a
// topic as an outsider would (librdkafka, no Portcullis code in between).
//
// No fallback: without the binary the test fails with the install line rather than being
// skipped. .ci/run installs it when missing.
//   apt-get update && apt-get install -y kcat
import { execFile, spawnSync } from 'node:child_process';

export const KCAT_INSTALL = 'apt-get update && apt-get install -y kcat';

export function findKcat(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v kcat || command -v kafkacat'], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n')[0];
  return path ? path : undefined;
}

export interface KcatRecord {
  key: string;
  value: string;
  partition: number;
  offset: number;
}

/**
 * Every record of `topic` from the beginning to its current end (`-e` exits there), one
 * JSON envelope per record (`-J`).
 */
export async function kcatConsumeAll(brokers: readonly string[], topic: string): Promise<KcatRecord[]> {
  const kcat = findKcat();
  if (!kcat) throw new Error(`kcat is not installed; install it with: ${KCAT_INSTALL}`);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(kcat, ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`kcat failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const j = JSON.parse(line) as { key: string | null; payload: string | null; partition: number; offset: number };
      return { key: j.key ?? '', value: j.payload ?? '', partition: j.partition, offset: j.offset };
    });
}
