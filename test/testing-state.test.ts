import { test } from 'tap'
import { createFakeSidecar, InMemoryStateStore } from '../lib/testing/index.js'

const TOKEN = 'sidecar-token'
const auth = { 'dapr-api-token': TOKEN }

function sidecar (t: { teardown: (fn: () => unknown) => void }, stateStores?: string[]) {
  const fake = createFakeSidecar({ token: TOKEN, ...(stateStores === undefined ? {} : { stateStores }) })
  t.teardown(() => fake.close())
  return fake
}

async function call (fake: ReturnType<typeof createFakeSidecar>, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const response = await fake.inject({
    method: method as 'GET',
    url,
    headers: { ...auth, ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) })
  })
  return { status: response.statusCode, headers: response.headers, body: response.body }
}

function daprError (errorCode: string, message: string) {
  return JSON.stringify({ errorCode, message })
}

test('save answers 204, get answers 200 with the JSON value and an ETag, a missing key answers 204', async t => {
  const fake = sidecar(t)
  t.same(await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'a', value: { n: 1 } }, { key: 'b', value: 'text' }, { key: 'c' }]),
    { status: 204, headers: (await call(fake, 'POST', '/v1.0/state/statestore', [])).headers, body: '' })
  const a = await call(fake, 'GET', '/v1.0/state/statestore/a')
  t.equal(a.status, 200)
  t.equal(a.headers['content-type'], 'application/json')
  t.equal(a.headers.etag, '1')
  t.equal(a.body, '{"n":1}')
  t.equal((await call(fake, 'GET', '/v1.0/state/statestore/b')).body, '"text"')
  t.equal((await call(fake, 'GET', '/v1.0/state/statestore/c')).body, 'null', 'a save without a value stores null')
  const missing = await call(fake, 'GET', '/v1.0/state/statestore/nope')
  t.equal(missing.status, 204)
  t.equal(missing.body, '')
  t.same(fake.dapr.stores.get('statestore')?.value('a'), { n: 1 })
  t.equal(fake.dapr.stores.get('statestore')?.value('nope'), undefined)
  t.equal((await call(fake, 'PUT', '/v1.0/state/statestore', [{ key: 'a', value: 2 }])).status, 204, 'PUT saves too')
})

test('ETags: a matching ETag wins, a stale one is a 409 ERR_STATE_SAVE, a malformed one a 400', async t => {
  const fake = sidecar(t)
  await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 1 }])
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 2, etag: '1' }])).status, 204)
  t.same(await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 3, etag: '1' }]).then(r => [r.status, r.headers['content-type'], r.body]),
    [409, 'application/json', daprError('ERR_STATE_SAVE', 'failed saving state in state store statestore: possible etag mismatch. error from state store: ETag does not match')])
  t.same(await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'new', value: 3, etag: '7' }]).then(r => r.status), 409, 'an ETag for a missing key never matches')
  t.same(await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 3, etag: 'abc' }]).then(r => [r.status, r.body]),
    [400, daprError('ERR_STATE_SAVE', 'failed saving state in state store statestore: invalid etag value: "abc"')])
  t.equal(fake.dapr.stores.get('statestore')?.value('k'), 2)
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 4, etag: '' }])).status, 204, 'an empty ETag is no ETag')
})

test('first-write needs an ETag for an existing key; last-write (default) does not', async t => {
  const fake = sidecar(t)
  const firstWrite = { concurrency: 'first-write' }
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 1, options: firstWrite }])).status, 204, 'a new key needs none')
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 2, options: firstWrite }])).status, 409)
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 2, etag: '1', options: firstWrite }])).status, 204)
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 3, options: { concurrency: 'last-write' } }])).status, 204)
  t.equal(fake.dapr.stores.get('statestore')?.value('k'), 3)
})

test('a save applies all items or none', async t => {
  const fake = sidecar(t)
  await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 1 }])
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'other', value: 1 }, { key: 'k', value: 2, etag: '9' }])).status, 409)
  t.equal(fake.dapr.stores.get('statestore')?.items.has('other'), false)
})

test('delete answers 204, honours If-Match and first-write, and deleting a missing key is fine', async t => {
  const fake = sidecar(t)
  await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 1 }])
  t.same(await call(fake, 'DELETE', '/v1.0/state/statestore/k', undefined, { 'if-match': '5' }).then(r => [r.status, r.body]),
    [409, daprError('ERR_STATE_DELETE', 'failed deleting state with key k: possible etag mismatch. error from state store: ETag does not match')])
  t.equal((await call(fake, 'DELETE', '/v1.0/state/statestore/k?concurrency=first-write')).status, 409)
  t.equal((await call(fake, 'DELETE', '/v1.0/state/statestore/k', undefined, { 'if-match': '1' })).status, 204)
  t.equal((await call(fake, 'GET', '/v1.0/state/statestore/k')).status, 204)
  t.equal((await call(fake, 'DELETE', '/v1.0/state/statestore/k')).status, 204)
})

test('bulk get answers every key, with data and ETag where present', async t => {
  const fake = sidecar(t)
  await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'a', value: { n: 1 } }])
  const bulk = await call(fake, 'POST', '/v1.0/state/statestore/bulk', { keys: ['a', 'b'], parallelism: 10 })
  t.equal(bulk.status, 200)
  t.equal(bulk.headers['content-type'], 'application/json')
  t.same(JSON.parse(bulk.body), [{ key: 'a', data: { n: 1 }, etag: '1' }, { key: 'b' }])
  for (const bad of ['null', '{}', '{"keys":"a"}', '{"keys":[1]}']) {
    t.same(await call(fake, 'PUT', '/v1.0/state/statestore/bulk', bad).then(r => [r.status, JSON.parse(r.body).errorCode]), [400, 'ERR_MALFORMED_REQUEST'], bad)
  }
})

test('transactions apply upserts and deletes atomically, with daprd codes for bad operations and stale ETags', async t => {
  const fake = sidecar(t)
  await call(fake, 'POST', '/v1.0/state/statestore', [{ key: 'gone', value: 1 }])
  t.equal((await call(fake, 'POST', '/v1.0/state/statestore/transaction', {
    operations: [{ operation: 'upsert', request: { key: 'a', value: 1 } }, { operation: 'delete', request: { key: 'gone' } }]
  })).status, 204)
  t.equal(fake.dapr.stores.get('statestore')?.value('a'), 1)
  t.equal(fake.dapr.stores.get('statestore')?.items.has('gone'), false)
  t.same(await call(fake, 'POST', '/v1.0/state/statestore/transaction', {
    operations: [{ operation: 'upsert', request: { key: 'b', value: 1 } }, { operation: 'upsert', request: { key: 'a', value: 2, etag: '1' } }]
  }).then(r => [r.status, r.body]), [409, daprError('ERR_STATE_TRANSACTION', 'error while executing state transaction: possible etag mismatch. error from state store: ETag does not match')])
  t.equal(fake.dapr.stores.get('statestore')?.items.has('b'), false, 'nothing of a failed transaction is applied')
  t.same(await call(fake, 'PUT', '/v1.0/state/statestore/transaction', { operations: [{ operation: 'merge', request: { key: 'a' } }] }).then(r => [r.status, r.body]),
    [400, daprError('ERR_NOT_SUPPORTED_STATE_OPERATION', 'operation type merge not supported')])
  t.same(await call(fake, 'POST', '/v1.0/state/statestore/transaction', { operations: [null] }).then(r => [r.status, r.body]),
    [400, daprError('ERR_NOT_SUPPORTED_STATE_OPERATION', 'operation type undefined not supported')])
  for (const bad of ['null', '{"operations":{}}']) {
    t.equal((await call(fake, 'POST', '/v1.0/state/statestore/transaction', bad)).status, 400, bad)
  }
})

test('unknown stores, no stores and malformed bodies get daprd error bodies', async t => {
  const fake = sidecar(t)
  t.same(await call(fake, 'GET', '/v1.0/state/nope/k').then(r => [r.status, r.headers['content-type'], r.body]),
    [400, 'application/json', daprError('ERR_STATE_STORE_NOT_FOUND', 'state store nope is not found')])
  const none = sidecar(t, [])
  t.same(await call(none, 'POST', '/v1.0/state/statestore', []).then(r => [r.status, r.body]),
    [500, daprError('ERR_STATE_STORE_NOT_CONFIGURED', 'state store is not configured')])
  const notJson = await call(fake, 'POST', '/v1.0/state/statestore', '[{')
  t.equal(notJson.status, 400)
  t.match(JSON.parse(notJson.body), { errorCode: 'ERR_MALFORMED_REQUEST', message: /^failed deserializing HTTP body: / })
  t.same(await call(fake, 'POST', '/v1.0/state/statestore', { key: 'a' }).then(r => [r.status, r.body]),
    [400, daprError('ERR_MALFORMED_REQUEST', 'failed deserializing HTTP body: the body must be a JSON array of state items')])
  for (const item of [null, {}, { key: '' }, { key: 'a||b' }, { key: 1 }]) {
    t.equal((await call(fake, 'POST', '/v1.0/state/statestore', [item])).status, 400, JSON.stringify(item))
  }
  const empty = await fake.inject({ method: 'POST', url: '/v1.0/state/statestore', headers: auth })
  t.same([empty.statusCode, JSON.parse(empty.body).errorCode], [400, 'ERR_MALFORMED_REQUEST'], 'no body at all')
})

test('InMemoryStateStore can be used and inspected directly', async t => {
  const store = new InMemoryStateStore('s')
  store.apply([{ key: 'x', value: [1], firstWrite: false }], 'ERR_STATE_SAVE', (_w, d) => d)
  t.same(store.items.get('x'), { value: '[1]', etag: '1' })
})
