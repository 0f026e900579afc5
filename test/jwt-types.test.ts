import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { signDaprJwt, type JwtTokenCredential } from '../lib/index.js'
import { HS_SECRET } from './helpers/jwt.js'

// Users type their claims by augmenting DaprJwtClaims; this file fails to type-check if that stops working.
declare module '../lib/index.js' {
  interface DaprJwtClaims {
    tenant?: string
  }
}

interface MyClaims { tenant: string, roles: string[] }

test('typed claims: augmentation types request.daprToken, and the credential is generic', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { jwt: { key: HS_SECRET, algorithms: ['HS256'] } })
  app.get('/', async request => {
    const credential = request.daprToken
    if (credential?.kind !== 'jwt') return { tenant: null }
    const tenant: string | undefined = credential.claims.tenant
    const narrowed = credential as JwtTokenCredential<MyClaims>
    const roles: readonly string[] = narrowed.claims.roles
    return { tenant, roles }
  })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/', headers: { 'dapr-api-token': signDaprJwt({ tenant: 'acme', roles: ['a'] }, { key: HS_SECRET }) } })
  t.same(JSON.parse(res.body), { tenant: 'acme', roles: ['a'] })
})
