// A gRPC server with the Gateway service whose Exec answers at once, in its own process:
// the floor that gRPC over loopback in Node costs before the gateway does anything.
// Prints `echo ready port=N`. Used by exec-latency.mjs as a second baseline.
import * as grpc from '@grpc/grpc-js';
import { GatewayService } from '@portcullis/proto';

const server = new grpc.Server();
server.addService(GatewayService, {
  exec: (_call, cb) => cb(null, { requestId: 'echo', rowCount: 1, rows: [{ values: [{ number: 1 }, { text: 'name-1' }] }], columns: [{ name: 'id', type: 'int4' }, { name: 'name', type: 'text' }] }),
  listConnections: (_call, cb) => cb(null, { connections: [] }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`echo ready port=${port}`);
});
process.on('SIGTERM', () => server.forceShutdown());
