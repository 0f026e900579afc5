import { test } from 'tap'
import realCreateError from '@fastify/error'
import { refusalError, refusalErrors, type RefusalReason } from '../lib/errors.js'

const reasons = Object.keys(refusalErrors) as RefusalReason[]

test('refusalError makes, for every reason, what the error class\'s constructor makes', async t => {
  for (const reason of reasons) {
    const made = refusalError(reason)
    const constructed = new refusalErrors[reason]()
    t.equal(Object.getPrototypeOf(made), refusalErrors[reason].prototype, `${reason}: the class's prototype`)
    t.ok(made instanceof refusalErrors[reason] && made instanceof Error, `${reason}: instanceof its class and Error`)
    t.strictSame(Object.getOwnPropertyNames(made), Object.getOwnPropertyNames(constructed), `${reason}: the same own properties, in order`)
    t.strictSame({ ...made }, { ...constructed }, `${reason}: the same values`)
    t.equal(made.message, constructed.message, `${reason}: message`)
    t.equal(made.stack, undefined, `${reason}: no stack, as a refusal has none`)
    t.equal(String(made), String(constructed), `${reason}: toString`)
    t.not(refusalError(reason), made, `${reason}: a fresh error each time`)
  }
})

test('refusalError falls back to the constructor should @fastify/error give its errors other own properties', async t => {
  // A future @fastify/error whose errors carry one more own property.
  const createError = (...args: Parameters<typeof realCreateError>) => {
    const Base = realCreateError(...args)
    return class extends Base {
      constructor (...rest: unknown[]) {
        super(...rest)
        Object.defineProperty(this, 'extra', { value: 1, enumerable: true })
      }
    }
  }
  const errors = t.mockRequire<typeof import('../lib/errors.js')>('../lib/errors.js', { '@fastify/error': createError })
  const made = errors.refusalError('invalid')
  t.ok(made instanceof errors.refusalErrors.invalid)
  t.equal((made as unknown as { extra: unknown }).extra, 1, 'made by the constructor, its own properties included')
  t.equal(made.code, 'FST_DAPR_TOKEN_INVALID')
})
