// Installs, once, the Node 22 and 24 binaries that test/package.test.ts runs the packed package on.
// They live in tools/node-matrix, a project of its own with its own lockfile: installed at the root,
// the `node` bin they both declare would shadow the machine's Node in every npm script.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../tools/node-matrix/', import.meta.url))
const wanted = ['node22', 'node24']
if (!wanted.every(name => existsSync(`${dir}node_modules/${name}/bin/node`))) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['ci', '--prefix', dir, '--prefer-offline', '--no-audit', '--no-fund', '--silent'], { stdio: 'inherit' })
  process.exitCode = result.status ?? 1
}
