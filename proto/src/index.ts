// The contracts: message classes and gRPC service definitions generated from
// proto/portcullis/v1 (see scripts/gen.mjs), re-exported under short names.
import './numbers.js';
import { portcullis } from '../gen/portcullis.js';

export { GatewayClient, GatewayService } from '../gen/services.js';
export type { IGatewayServer } from '../gen/services.js';

export const pb = portcullis.v1;
export type pb = typeof portcullis.v1;

export const AccessEvent = portcullis.v1.AccessEvent;
export type AccessEvent = portcullis.v1.AccessEvent;
export type IAccessEvent = portcullis.v1.IAccessEvent;
export const Decision = portcullis.v1.Decision;
export type Decision = portcullis.v1.Decision;
export type IDecision = portcullis.v1.IDecision;
export const DeadLetter = portcullis.v1.DeadLetter;
export type IDeadLetter = portcullis.v1.IDeadLetter;
export const Phase = portcullis.v1.Phase;
export const Action = portcullis.v1.Action;
export const IdentityKind = portcullis.v1.IdentityKind;
export const ConnectionKind = portcullis.v1.ConnectionKind;
export const SubjectKind = portcullis.v1.SubjectKind;
export const DecisionEffect = portcullis.v1.DecisionEffect;
export type IExecRequest = portcullis.v1.IExecRequest;
export type IExecResponse = portcullis.v1.IExecResponse;
export type IValue = portcullis.v1.IValue;
export type IColumn = portcullis.v1.IColumn;
export type IRow = portcullis.v1.IRow;
export type IListConnectionsResponse = portcullis.v1.IListConnectionsResponse;

export { encodeEvent, decodeEvent, encodeDecision, decodeDecision } from './codec.js';
