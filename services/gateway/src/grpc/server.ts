import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { PcxError, type Logger } from '@portcullis/common';
import { GatewayService, type IGatewayServer } from '@portcullis/proto';
import type { ExecPipeline } from '../exec/pipeline.js';
import { headersOf } from './metadata.js';
import { toGrpcStatus } from './status.js';
import { fromProtoValue, toExecResponse } from './values.js';

/** Handlers only translate: wire → pipeline input, pipeline output or error → wire. */
export function gatewayHandlers(pipeline: ExecPipeline, logger: Logger, waitApproval?: IGatewayServer['waitApproval'], reportManifest?: IGatewayServer['reportManifest']): IGatewayServer {
  function fail<T>(callback: sendUnaryData<T>, e: unknown): void {
    if (!(e instanceof PcxError)) logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in gateway handler');
    callback(toGrpcStatus(e), null);
  }
  return {
    exec(call, callback) {
      const req = call.request;
      pipeline
        .exec({
          connection: req.connection,
          command: req.command,
          sessionId: req.sessionId,
          params: (req.params ?? []).map(fromProtoValue),
          headers: headersOf(call.metadata),
          peer: call.getPeer(),
          approvalId: req.approvalId,
          holdMs: req.holdMs,
          destination: req.destination,
        })
        .then((out) => callback(null, toExecResponse(out)))
        .catch((e: unknown) => fail(callback, e));
    },
    listConnections(call: ServerUnaryCall<unknown, unknown>, callback) {
      pipeline
        .listConnections(headersOf(call.metadata))
        .then((connections) => callback(null, { connections: connections.map((c) => ({ ...c })) }))
        .catch((e: unknown) => fail(callback, e));
    },
    waitApproval:
      waitApproval ??
      ((call) => {
        call.emit('error', toGrpcStatus(new PcxError('PCX_NOT_FOUND', 'approvals are not enabled on this gateway')));
      }),
    // ── manifests (src/manifests): the agent's runtime manifest for the config-drift detector
    reportManifest:
      reportManifest ??
      ((_call, callback) => {
        callback(toGrpcStatus(new PcxError('PCX_NOT_FOUND', 'manifest reports are not enabled on this gateway')), null);
      }),
    // ── end manifests
  };
}

/** Binds host:port (0 = any free port) and resolves the bound port. */
export async function startGrpcServer(handlers: IGatewayServer, host: string, port: number, maxMessageBytes: number): Promise<{ server: Server; port: number }> {
  // A little headroom over the command limit so an oversize command gets our PCX code, not a transport error.
  const server = new Server({ 'grpc.max_receive_message_length': maxMessageBytes + 64 * 1024 });
  server.addService(GatewayService, handlers);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, port: bound };
}

export function stopGrpcServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
