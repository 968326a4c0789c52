import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { GatewayClient, type pb, type IExecResponse, type IListConnectionsResponse } from '@portcullis/proto';
import { fromGrpcError } from '../grpc/status.js';
import { toProtoValue } from '../grpc/values.js';
import type { ResultValue } from '../targets/target.js';

/** What a caller declares about where it runs (sent as x-portcullis-* metadata). */
export interface ClientOrigin {
  readonly host?: string;
  readonly container?: string;
  readonly process?: string;
  readonly configHash?: string;
}

export interface ExecOptions {
  readonly sessionId?: string;
  readonly params?: readonly ResultValue[];
  /** Per-call deadline. */
  readonly timeoutMs?: number;
  /** Re-submit a held command under its approval. */
  readonly approvalId?: string;
  /** Wait up to this long for an approval when the command is held. */
  readonly holdMs?: number;
  /** Where the results will go (ExecRequest.destination): a URL or host[:port]; the gateway records it normalised. */
  readonly destination?: string;
}

/** One WaitApproval update, as the client sees it. */
export type ApprovalUpdate = InstanceType<typeof pb.ApprovalUpdate>;

export interface PortcullisGatewayClient {
  /** Resolves the response, or rejects with the PcxError the gateway raised (rebuilt from the pcx-code trailer). */
  exec(connection: string, command: string, options?: ExecOptions): Promise<IExecResponse>;
  listConnections(): Promise<IListConnectionsResponse>;
  /**
   * Follows an approval (WaitApproval): `onUpdate` for each update; resolves with the last
   * one when the stream ends (decided, expired, or at `deadlineMs` still pending).
   */
  waitApproval(approvalId: string, deadlineMs: number, onUpdate?: (u: ApprovalUpdate) => void): Promise<ApprovalUpdate | undefined>;
  close(): void;
}

/** A small client for the CLI, end-to-end tests and benches. Plaintext for now (TLS arrives with the gateway's). */
export function createGatewayClient(address: string, token: string, origin: ClientOrigin = {}): PortcullisGatewayClient {
  const client = new GatewayClient(address, credentials.createInsecure());

  function metadata(): Metadata {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    if (origin.host) md.set('x-portcullis-host', origin.host);
    if (origin.container) md.set('x-portcullis-container', origin.container);
    if (origin.process) md.set('x-portcullis-process', origin.process);
    if (origin.configHash) md.set('x-portcullis-config-hash', origin.configHash);
    return md;
  }

  function callOptions(timeoutMs?: number): { deadline?: number } {
    return timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
  }

  return {
    exec(connection, command, options = {}) {
      return new Promise((resolve, reject) => {
        client.exec(
          { connection, command, sessionId: options.sessionId ?? '', params: (options.params ?? []).map(toProtoValue), approvalId: options.approvalId ?? '', holdMs: options.holdMs ?? 0, destination: options.destination ?? '' },
          metadata(),
          callOptions(options.timeoutMs),
          (err: ServiceError | null, res) => (err ? reject(fromGrpcError(err)) : resolve(res as IExecResponse)),
        );
      });
    },
    listConnections() {
      return new Promise((resolve, reject) => {
        client.listConnections({}, metadata(), {}, (err: ServiceError | null, res) => (err ? reject(fromGrpcError(err)) : resolve(res as IListConnectionsResponse)));
      });
    },
    waitApproval(approvalId, deadlineMs, onUpdate) {
      return new Promise((resolve, reject) => {
        let last: ApprovalUpdate | undefined;
        // A little over the server's deadline, so the server ends the stream, not the channel.
        const stream = client.waitApproval({ approvalId, deadlineMs }, metadata(), { deadline: Date.now() + deadlineMs + 10_000 });
        stream.on('data', (u: ApprovalUpdate) => {
          last = u;
          onUpdate?.(u);
        });
        stream.on('error', (err: ServiceError) => reject(fromGrpcError(err)));
        stream.on('end', () => resolve(last));
      });
    },
    close() {
      client.close();
    },
  };
}
