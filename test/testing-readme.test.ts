import { test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/*
 * The README's test-kit snippets are what users paste: each must type-check on its own, under
 * `strict`, against the built package (`npm test` builds first), importing it by its name.
 */
const root = resolve(__dirname, '..')
const dir = join(root, 'node_modules', '.cache', 'fastify-dapr-token-auth-readme')

test('every TypeScript snippet of the README\'s test-kit section compiles on its own under strict', async t => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('## Testing your app against a fake sidecar')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map(match => match[1] as string)
  t.equal(snippets.length, 2, 'the callAsDapr and the DaprClient snippets')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const files = await Promise.all(snippets.map(async (code, i) => {
    const file = join(dir, `snippet-${i}.mts`)
    await writeFile(file, `${code}export {}\n`)
    return file
  }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const args = [tsc, '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--module', 'node16', '--moduleResolution', 'node16',
    '--target', 'es2022', '--types', 'node', '--skipLibCheck', ...files]
  const result = await new Promise<{ code: number, output: string }>(resolve => {
    execFile(process.execPath, args, { cwd: root, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : 1, output: stdout + stderr })
    })
  })
  t.same(result, { code: 0, output: '' })
})
