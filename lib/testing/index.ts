/*
 * fastify-dapr-token-auth/testing: a fake Dapr sidecar and a "call me like daprd" client, for
 * testing apps (and Dapr-compatible APIs) without installing daprd.
 */
export { createFakeSidecar, type FakeSidecar, type FakeSidecarHandle, type FakeSidecarOptions } from './fake-sidecar.js'
export {
  callAsDapr,
  type CallAsDaprOptions,
  type DaprCaller,
  type DaprCallOptions,
  type DaprCallResponse,
  type DeliverOptions,
  type DeliveryResponse
} from './call-as-dapr.js'
export type { AppTarget } from './app-channel.js'
export type { CloudEvent } from './cloudevent.js'
export type { DeliveryAnswer, PublishedMessage, RetryPolicy, Subscription } from './pubsub.js'
export type { BindingCall } from './components.js'
export type { CallRecord } from './recorder.js'
export { REDACTED } from './recorder.js'
export type { DaprApiError } from './api-error.js'
export { InMemoryStateStore, type StoredItem } from './state-store.js'
