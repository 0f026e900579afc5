import { test } from 'tap'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

/*
 * The built package as a user gets it (`npm test` builds first): the `./testing` entry from both
 * module systems, the copyable example test, and `npm run demo`'s script. Each runs in a child
 * process so it resolves `fastify-dapr-token-auth` through the package's own `exports` map.
 */
const root = resolve(__dirname, '..')

async function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, args, { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr })
    })
  })
}

test('fastify-dapr-token-auth/testing loads with require and import, as one copy', async t => {
  const required = await run(['-e', `
    const testing = require('fastify-dapr-token-auth/testing')
    console.log(Object.keys(testing).sort().join(','))`])
  t.same([required.code, required.stdout.trim()], [0, 'InMemoryStateStore,REDACTED,callAsDapr,createFakeSidecar'])
  const imported = await run(['--input-type=module', '-e', `
    import { createFakeSidecar, callAsDapr } from 'fastify-dapr-token-auth/testing'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('fastify-dapr-token-auth/testing')
    console.log(createFakeSidecar === cjs.createFakeSidecar && callAsDapr === cjs.callAsDapr)`])
  t.same([imported.code, imported.stdout.trim()], [0, 'true'])
})

test('the example test file passes', async t => {
  const result = await run(['--test', 'examples/app.test.mjs'])
  t.equal(result.code, 0, result.stdout + result.stderr)
  t.match(result.stdout, /# pass 3\n/)
  t.match(result.stdout, /# fail 0\n/)
})

test('the demo runs every step as expected and exits 0', async t => {
  const result = await run(['examples/demo.mjs'])
  t.equal(result.code, 0, result.stdout + result.stderr)
  t.match(result.stdout, /^All \d+ outcomes as expected\.$/m)
  t.notMatch(result.stdout, /FAILED/)
})
