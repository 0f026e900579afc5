// The package as users get it: `npm pack`, installed into a throwaway project from the npm cache,
// then used from ESM, CommonJS and TypeScript (node16 and bundler resolution), on Node 20, 22 and 24.
// Every entry point in the `exports` map is covered, so entries added later are tested unasked.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import tap, { test } from 'tap'
import { fingerprint } from '../lib/index.js'

const root = resolve(__dirname, '..')
const NAME = 'fastify-dapr-token-auth'
const TIMEOUT = 180_000

// Packing, installing and running three Node versions takes longer than tap's default 30 s.
tap.setTimeout(300_000)

/** The Node versions the packed package must work on: this machine's, and the npm-shipped 22 and 24. */
const NODES: ReadonlyArray<{ label: string, bin: string }> = [
  { label: `Node ${process.versions.node} (this machine)`, bin: process.execPath },
  { label: 'Node 22', bin: join(root, 'tools/node-matrix/node_modules/node22/bin/node') },
  { label: 'Node 24', bin: join(root, 'tools/node-matrix/node_modules/node24/bin/node') }
]

function run (command: string, args: readonly string[], cwd: string, input?: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, input, encoding: 'utf8', timeout: TIMEOUT, env: { ...process.env, NO_COLOR: '1' } })
}

function output (result: SpawnSyncReturns<string>): string {
  return `exit ${String(result.status)}\n${result.stdout}\n${result.stderr}`
}

/** `export` subpaths that name modules (not `./package.json`), as `fastify-dapr-token-auth[/sub]`. */
function entrySpecifiers (manifest: { exports: Record<string, unknown> }): string[] {
  return Object.keys(manifest.exports)
    .filter(subpath => !subpath.endsWith('.json'))
    .map(subpath => subpath === '.' ? NAME : `${NAME}/${subpath.slice(2)}`)
}

/** Conditions each entry must offer, each with its types first (TypeScript takes the first match). */
const CONDITIONS = ['import', 'require'] as const

const ENTRIES_SCRIPT = `
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const report = {}
for (const spec of JSON.parse(process.argv[2])) {
  const esm = await import(spec)
  const cjs = require(spec)
  const cjsNames = Object.keys(cjs).filter(n => n !== 'default' && n !== '__esModule').sort()
  const esmNames = Object.keys(esm).filter(n => n !== 'default' && n !== 'module.exports').sort()
  report[spec] = {
    cjsNames,
    esmNames,
    differentValues: cjsNames.filter(n => esm[n] !== cjs[n]),
    defaultSame: esm.default === cjs.default
  }
}
console.log(JSON.stringify(report))
`

/** Uses the plugin through one module system and checks errors across both (one module instance). */
function usageScript (system: 'esm' | 'cjs'): string {
  const load = system === 'esm'
    ? `import Fastify from 'fastify'
import daprTokenAuth, { daprTokenAuth as named, DaprTokenInvalidError, fingerprint } from '${NAME}'
import { createRequire } from 'node:module'
const other = createRequire(import.meta.url)('${NAME}')
const otherDefault = other.default
`
    : `const Fastify = require('fastify')
const { default: daprTokenAuth, daprTokenAuth: named, DaprTokenInvalidError, fingerprint } = require('${NAME}')
async function main () {
const other = await import('${NAME}')
const otherDefault = other.default
`
  return `${load}
const app = Fastify()
let seen
app.setErrorHandler((error, request, reply) => { seen = error; reply.code(error.statusCode).send({ code: error.code }) })
app.register(daprTokenAuth, { token: 's3cret' })
app.get('/', async request => request.daprToken)
const ok = await app.inject({ url: '/', headers: { 'dapr-api-token': 's3cret' } })
const bad = await app.inject({ url: '/', headers: { 'dapr-api-token': 'nope' } })
await app.close()
console.log(JSON.stringify({
  defaultIsNamed: daprTokenAuth === named,
  oneInstance: daprTokenAuth === other.daprTokenAuth && daprTokenAuth === otherDefault && DaprTokenInvalidError === other.DaprTokenInvalidError,
  ok: [ok.statusCode, ok.json()],
  bad: [bad.statusCode, bad.json()],
  instanceofHere: seen instanceof DaprTokenInvalidError,
  instanceofOther: seen instanceof other.DaprTokenInvalidError,
  fingerprint: fingerprint('s3cret')
}))
${system === 'cjs' ? '}\nmain()' : ''}
`
}

function expectedUsage (): unknown {
  const credential = { kind: 'static', index: 0, fingerprint: fingerprint('s3cret') }
  return {
    defaultIsNamed: true,
    oneInstance: true,
    ok: [200, credential],
    bad: [401, { code: 'FST_DAPR_TOKEN_INVALID' }],
    instanceofHere: true,
    instanceofOther: true,
    fingerprint: fingerprint('s3cret')
  }
}

/**
 * TypeScript using the package: typed options and decorators, and every runtime export of every
 * entry named through its types (a runtime export without a type fails to compile).
 */
function typescriptSource (exportsBySpec: Record<string, string[]>, module: 'esm' | 'cjs' | 'bundler'): string {
  const namespaces = Object.entries(exportsBySpec).map(([spec, names], i) =>
    `import * as entry${i} from '${spec}'\nexport const names${i} = [${names.map(n => `entry${i}.${n}`).join(', ')}]`).join('\n')
  return `import Fastify from 'fastify'
import daprTokenAuth, { DaprTokenInvalidError, type DaprTokenAuthOptions, type DaprTokenCredential } from '${NAME}'
${namespaces}

const options: DaprTokenAuthOptions = { token: 's3cret', role: 'app', exempt: ['GET /healthz'] }
// @ts-expect-error an unknown role must not compile: proves the types resolved to something real
export const wrong: DaprTokenAuthOptions = { role: 'nope' }

${module === 'cjs' ? 'async function main (): Promise<void> {' : ''}
const app = Fastify()
let seen: unknown
app.setErrorHandler((error, _request, reply) => { seen = error; void reply.code(401).send() })
await app.register(daprTokenAuth, options)
app.get('/', async request => {
  const credential: DaprTokenCredential | null = request.daprToken
  return credential
})
const ok = await app.inject({ url: '/', headers: { 'dapr-api-token': 's3cret' } })
const bad = await app.inject({ url: '/', headers: { 'dapr-api-token': 'nope' } })
await app.close()
console.log(JSON.stringify({ ok: ok.statusCode, bad: bad.statusCode, instanceof: seen instanceof DaprTokenInvalidError }))
${module === 'cjs' ? '}\nvoid main()' : ''}
`
}

function tsconfig (compilerOptions: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      strict: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      ...compilerOptions
    }
  }, null, 2)
}

test('the packed package installs and works from ESM, CommonJS and TypeScript on Node 20, 22 and 24', async t => {
  if (!existsSync(join(root, 'dist/index.mjs'))) return t.fail('dist/ is missing: run `npm run build` first (`npm test` does)')
  const dir = t.testdir({ consumer: { 'package.json': JSON.stringify({ name: 'consumer', private: true }) } })
  const consumer = join(dir, 'consumer')

  // `npm test` has built already; the prepack build would rewrite dist/ under the other test files.
  const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root)
  t.equal(packed.status, 0, 'exit code 0', { output: output(packed) })
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  if (info === undefined) return t.fail('npm pack reported nothing')
  const files = new Set(info.files.map(file => file.path))
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

  t.test('the tarball holds the build, sources for the maps, and nothing else', async t => {
    for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'lib/index.ts']) t.ok(files.has(file), file)
    for (const file of files) t.match(file, /^(dist\/|lib\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/, file)
    t.notOk([...files].some(file => file.endsWith('.tsbuildinfo')), 'no build info')
    for (const target of Object.values(manifest.bin as Record<string, string>)) t.ok(files.has(target), `bin ${target}`)
    t.match(readFileSync(join(root, manifest.bin[NAME]), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin has a shebang')
  })

  t.test('package.json: every export has types-first import and require targets that are packed; no install scripts', async t => {
    for (const [subpath, target] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (subpath.endsWith('.json')) continue
      for (const condition of CONDITIONS) {
        const branch = (target as Record<string, Record<string, string>>)[condition]
        t.same(Object.keys(branch ?? {}), ['types', 'default'], `${subpath} ${condition}`)
        for (const file of Object.values(branch ?? {})) t.ok(files.has(file.slice(2)), `${subpath} ${condition} -> ${file} is packed`)
      }
    }
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare', 'postpack']) t.notOk(hook in manifest.scripts, `no ${hook} script`)
    // dist/ is not in git: packing or publishing a fresh clone builds it first (never run on install).
    t.equal(manifest.scripts.prepack, 'npm run build', 'prepack builds')
    t.equal(manifest.engines.node, '>=20')
    t.match(manifest.peerDependencies, { fastify: String })
    t.match(manifest.publishConfig, { provenance: true })
  })

  const installed = run('npm', ['install', join(dir, info.filename), '--prefer-offline', '--no-audit', '--no-fund'], consumer)
  t.equal(installed.status, 0, 'npm install of the tarball', { output: output(installed) })
  const specs = entrySpecifiers(JSON.parse(readFileSync(join(consumer, 'node_modules', NAME, 'package.json'), 'utf8')))
  t.ok(specs.includes(NAME), 'the main entry is exported')

  writeFileSync(join(consumer, 'entries.mjs'), ENTRIES_SCRIPT)
  writeFileSync(join(consumer, 'use.mjs'), usageScript('esm'))
  writeFileSync(join(consumer, 'use.cjs'), usageScript('cjs'))

  const baseline = run(process.execPath, ['entries.mjs', JSON.stringify(specs)], consumer)
  const exportsBySpec: Record<string, string[]> = {}
  for (const [spec, entry] of Object.entries(JSON.parse(baseline.stdout || '{}') as Record<string, { cjsNames: string[] }>)) exportsBySpec[spec] = entry.cjsNames

  // TypeScript, compiled with this repository's compiler: node16 (emitted and run below) and bundler (type-checked).
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  mkdirSync(join(consumer, 'node16'))
  writeFileSync(join(consumer, 'node16/esm.mts'), typescriptSource(exportsBySpec, 'esm'))
  writeFileSync(join(consumer, 'node16/cjs.cts'), typescriptSource(exportsBySpec, 'cjs'))
  writeFileSync(join(consumer, 'node16/tsconfig.json'), tsconfig({ module: 'node16', moduleResolution: 'node16', outDir: 'out' }))
  mkdirSync(join(consumer, 'bundler'))
  writeFileSync(join(consumer, 'bundler/app.ts'), typescriptSource(exportsBySpec, 'bundler'))
  writeFileSync(join(consumer, 'bundler/tsconfig.json'), tsconfig({ module: 'esnext', moduleResolution: 'bundler', noEmit: true }))

  t.test('TypeScript resolves the types under node16 (import and require) and bundler resolution', async t => {
    t.ok(Object.keys(exportsBySpec).length === specs.length, 'every entry loaded at run time')
    for (const project of ['node16', 'bundler']) {
      const compiled = run(process.execPath, [tsc, '-p', join(consumer, project)], consumer)
      t.equal(compiled.status, 0, `tsc -p ${project}`, { output: output(compiled) })
    }
  })

  for (const node of NODES) {
    t.test(node.label, async t => {
      if (!existsSync(node.bin)) return t.fail(`${node.bin} is missing: run \`node scripts/node-matrix.mjs\` (\`npm test\` does)`)
      t.match(run(node.bin, ['--version'], consumer).stdout, node.bin === process.execPath ? process.version : new RegExp(`^v${node.label.slice(5)}\\.`))

      const entries = run(node.bin, ['entries.mjs', JSON.stringify(specs)], consumer)
      t.equal(entries.status, 0, 'exit code 0', { output: output(entries) })
      for (const [spec, entry] of Object.entries(JSON.parse(entries.stdout || '{}') as Record<string, { cjsNames: string[], esmNames: string[], differentValues: string[], defaultSame: boolean }>)) {
        t.ok(entry.cjsNames.length > 0, `${spec} exports something`)
        t.same(entry.esmNames, entry.cjsNames, `${spec}: import and require see the same names`)
        t.same(entry.differentValues, [], `${spec}: import and require get the very same values (one module instance)`)
        t.ok(entry.defaultSame, `${spec}: the same default export`)
      }

      for (const script of ['use.mjs', 'use.cjs']) {
        const used = run(node.bin, [script], consumer)
        t.equal(used.status, 0, script, { output: output(used) })
        t.same(JSON.parse(used.stdout || '{}'), expectedUsage(), `${script}: default and named exports, errors instanceof across import and require`)
      }

      for (const script of ['node16/out/esm.mjs', 'node16/out/cjs.cjs']) {
        const used = run(node.bin, [script], consumer)
        t.equal(used.status, 0, script, { output: output(used) })
        t.same(JSON.parse(used.stdout || '{}'), { ok: 200, bad: 401, instanceof: true }, `compiled TypeScript ${script}`)
      }

      const bin = join(consumer, 'node_modules', NAME, manifest.bin[NAME])
      const printed = run(node.bin, [bin, 'fingerprint'], consumer, 's3cret\n')
      t.same([printed.status, printed.stdout, printed.stderr], [0, fingerprint('s3cret') + '\n', ''], 'the CLI runs')
    })
  }

  t.test('the installed bin runs by its name, through its shebang', async t => {
    const generated = run(join(consumer, 'node_modules/.bin', NAME), ['generate', '--bytes', '16', '--encoding', 'hex'], consumer)
    t.equal(generated.status, 0, 'exit code 0', { output: output(generated) })
    t.match(generated.stdout, /^[0-9a-f]{32}\n$/)
    const failed = run(join(consumer, 'node_modules/.bin', NAME), ['generate', '--bytes', '1'], consumer)
    t.equal(failed.status, 2)
    t.match(failed.stderr, /^fastify-dapr-token-auth generate: --bytes must be a whole number from 16 to 1024/)
  })

  t.test('publint (strict) and arethetypeswrong report nothing', async t => {
    const publint = run(process.execPath, [join(root, 'node_modules/publint/src/cli.js'), '--strict', root], root)
    t.equal(publint.status, 0, 'exit code 0', { output: output(publint) })
    t.match(publint.stdout, /All good!/, 'publint', { output: output(publint) })
    const attw = run(process.execPath, [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), join(dir, info.filename), '--format', 'ascii'], root)
    t.equal(attw.status, 0, 'exit code 0', { output: output(attw) })
    t.match(attw.stdout, /No problems found/, 'attw', { output: output(attw) })
  })
})
