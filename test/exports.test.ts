import { test } from 'tap'
import * as api from '../lib/index.js'

test('the default and named exports are the same plugin, wrapped by fastify-plugin', async t => {
  t.equal(api.default, api.daprTokenAuth)
  const meta = (api.daprTokenAuth as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')]
  t.match(meta, { name: 'fastify-dapr-token-auth', fastify: '5.x' })
  t.equal((api.daprTokenAuth as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')], true)
})

test('every error class is exported with its code and status', async t => {
  const expected: Array<[new (...args: string[]) => Error & { code: string, statusCode?: number }, string, number]> = [
    [api.DaprTokenMissingError, 'FST_DAPR_TOKEN_MISSING', 401],
    [api.DaprTokenInvalidError, 'FST_DAPR_TOKEN_INVALID', 401],
    [api.DaprTokenDuplicateError, 'FST_DAPR_TOKEN_DUPLICATE', 401],
    [api.DaprTokenNotConfiguredError, 'FST_DAPR_TOKEN_NOT_CONFIGURED', 500],
    [api.DaprTokenOptionsError, 'FST_DAPR_TOKEN_OPTIONS', 500],
    [api.DaprTokenNoKeysError, 'FST_DAPR_TOKEN_NO_KEYS', 500],
    [api.DaprTokenResolverError, 'FST_DAPR_TOKEN_RESOLVER_FAILED', 500]
  ]
  for (const [ErrorClass, code, statusCode] of expected) {
    const error = new ErrorClass('X')
    t.equal(error.code, code)
    t.equal(error.statusCode, statusCode, code)
    t.ok(error instanceof Error)
  }
})

test('daprd\'s refusal body and the fingerprint function are exported', async t => {
  t.equal(api.DAPRD_REFUSAL_BODY, 'invalid api token\n')
  t.equal(Buffer.byteLength(api.DAPRD_REFUSAL_BODY), 18)
  t.equal(api.fingerprint('tok'), '1a7674eb4ee7')
})

test('every runtime export of the entry point is defined', async t => {
  // Reading each one also runs the re-export accessors the CommonJS build generates.
  const names = Object.keys(api).filter(name => name !== '__esModule')
  t.ok(names.length >= 10, `${names.length} exports`)
  for (const name of names) t.not((api as Record<string, unknown>)[name], undefined, name)
})
