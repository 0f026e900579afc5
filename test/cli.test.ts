import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { test } from 'tap'
import Fastify from 'fastify'
import { createDecoder, createSigner, createVerifier } from 'fast-jwt'
import { fingerprint as libFingerprint, signDaprJwt } from '../lib/index.js'
import { listen } from './helpers/http.js'
import { forgeHmac } from './helpers/jwt.js'
import { CliError, EXIT, main } from '../lib/cli/index.js'
import { cli, HELP_HINT } from './helpers/cli.js'
import { explainMismatch } from '../lib/cli/verify.js'
import { parseDuration } from '../lib/cli/sign.js'
import { InputTooLargeError, MAX_INPUT_BYTES, processIo } from '../lib/cli/io.js'
import { timeClaimProblem } from '../lib/jwt/sign.js'
import { causeOf } from '../lib/cli/verify-jwt.js'

/** A writable stream that keeps what is written to it, as text (the empty write that flushes left out). */
function collector (into: string[]): Writable {
  return new Writable({
    write (chunk: Buffer, _encoding, callback) {
      if (chunk.length > 0) into.push(chunk.toString())
      callback()
    }
  })
}

test('no command prints the command list on stderr and exits 2; --help, -h and help print it on stdout', async t => {
  const none = await cli([])
  t.equal(none.code, EXIT.usage)
  t.equal(none.stdout, '')
  t.match(none.stderr, /^Usage: fastify-dapr-token-auth <command> \[options\]\n\nCommands:\n {2}generate {5}print a new random token/)
  for (const flag of ['--help', '-h', 'help']) {
    const help = await cli([flag])
    t.equal(help.code, EXIT.ok, flag)
    t.equal(help.stdout, none.stderr, flag)
    t.equal(help.stderr, '', flag)
  }
  t.match(none.stderr, /Exit status: 0 success, 1 token refused \(verify\), 2 bad usage or unusable input,\n3 standard output could not be written\.\n/)
  for (const name of ['generate', 'fingerprint', 'verify', 'sign']) t.match(none.stderr, new RegExp(`\\n {2}${name} +\\S`))
})

test('--version prints the package version', async t => {
  const { version } = JSON.parse((await import('node:fs')).readFileSync(join(__dirname, '..', 'package.json'), 'utf8'))
  for (const flag of ['--version', '-v']) t.same(await cli([flag]), { code: 0, stdout: `${version}\n`, stderr: '' })
})

test('an unknown command or option is a usage error with exit code 2', async t => {
  const unknown = await cli(['mint'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^fastify-dapr-token-auth: unknown command "mint"\n\nUsage: /)
  for (const argv of [['c2VjcmV0LXRva2Vu'], ['help', 'Secret-Token-1234']]) {
    const secret = await cli(argv)
    t.equal(secret.code, 2, 'a secret typed as the command')
    t.match(secret.stderr, /^fastify-dapr-token-auth: unknown command \(not shown: it may be a secret\)\n\nUsage: /)
    t.notOk(secret.stderr.includes(argv.at(-1) as string), 'never echoed')
  }
})

test('an unknown option is reported by name', async t => {
  const result = await cli(['generate', '--bogus'])
  t.equal(result.code, 2)
  t.match(result.stderr, /^fastify-dapr-token-auth generate: Unknown option '--bogus'/)
  t.match(result.stderr, /\nRun `fastify-dapr-token-auth generate --help` for usage\.\n$/)
  const positional = await cli(['fingerprint', 'my-token'])
  t.equal(positional.code, 2, 'a token as an argument is refused')
  t.same(positional.stderr, 'fastify-dapr-token-auth fingerprint: unexpected positional argument (its value is not shown: secrets are read from stdin or --*-file)\n' + HELP_HINT('fingerprint'))
})

test('a single-valued option given twice is a usage error naming the option, never its values; repeatable ones and flags may repeat', async t => {
  const twice = await cli(['generate', '--bytes', '16', '--bytes', '32'])
  t.same(twice, { code: 2, stdout: '', stderr: 'fastify-dapr-token-auth generate: --bytes given more than once\n' + HELP_HINT('generate') })
  const inline = await cli(['verify', '--env=A', '--expected-env', 'B', '--env=C'], { env: { A: 'x', B: 'x', C: 'y' } })
  t.same(inline, { code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --env given more than once\n' + HELP_HINT('verify') })
  const repeatable = await cli(['verify', '--env', 'A', '--expected-env', 'B', '--expected-env', 'C'], { env: { A: 'x', B: 'y', C: 'x' } })
  t.equal(repeatable.code, EXIT.ok, 'a repeatable option')
  const flags = await cli(['generate', '-h', '--help'])
  t.equal(flags.code, EXIT.ok, 'a flag given twice')
})

test('a secret given where a variable\'s name, a path or an option belongs is never printed back', async t => {
  const secret = 'TKSkOGPVQ0dmeLstqiwVaZljYsTXFg_SopzfvbSNehg'
  const base64 = 'k3Jq/8vP0aZ+Yt2wXo9LmA=='
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ'
  const cases: Array<[string[], string]> = [
    [['fingerprint', '--env', secret], 'fastify-dapr-token-auth fingerprint: the token from the environment variable named (its name not shown: it may be a secret) is not set\n'],
    [['verify', '--expected-env', secret], 'fastify-dapr-token-auth verify: the configured token from the environment variable named (its name not shown: it may be a secret) is not set\n'],
    [['fingerprint', '--file', secret], 'fastify-dapr-token-auth fingerprint: cannot read the token from the file named (its path not shown: it may be a secret): ENOENT\n'],
    [['sign', '--secret-file', base64], 'fastify-dapr-token-auth sign: cannot read the HMAC secret from the file named (its path not shown: it may be a secret): ENOENT\n'],
    [['verify', '--expected-file', base64], 'fastify-dapr-token-auth verify: cannot read the configured tokens from the file named (its path not shown: it may be a secret): ENOENT\n'],
    [['fingerprint', `--${secret}`], 'fastify-dapr-token-auth fingerprint: unknown option (not shown: it may be a secret)\n'],
    [['fingerprint', `--${base64}`], 'fastify-dapr-token-auth fingerprint: unknown option (not shown: it may be a secret)\n'],
    [['verify', "--a'Zx9+/SECRETvalue=="], 'fastify-dapr-token-auth verify: unknown option (not shown: it may be a secret)\n'],
    [['verify', '--file', jwt], 'fastify-dapr-token-auth verify: cannot read the token to verify from the file named (its path not shown: it may be a secret): ENOENT\n'],
    [['fingerprint', '--file', `/${base64}`], 'fastify-dapr-token-auth fingerprint: cannot read the token from the file named (its path not shown: it may be a secret): ENOENT\n'],
    [['verify', '--jwks-url', 'hunter2secretvalue', '--alg', 'RS256'], 'fastify-dapr-token-auth verify: Invalid fastify-dapr-token-auth options: fromJwks: a value given as a URL is not a URL (not shown: it may be a secret)\n']
  ]
  for (const [argv, stderr] of cases) {
    const result = await cli(argv, { stdin: 'x' })
    t.same(result, { code: 2, stdout: '', stderr: stderr + HELP_HINT(argv[0] as string) }, argv.join(' '))
  }
  // A short option's group is named by its first letter only.
  t.notOk((await cli(['fingerprint', `-${base64}`])).stderr.includes(base64.slice(1)), 'a short option group')
  const conventional = await cli(['fingerprint', '--env', 'APP_API_TOKEN_2'])
  t.match(conventional.stderr, /the token from environment variable APP_API_TOKEN_2 is not set\n/, 'a conventional name is shown')
  const misspelt = await cli(['fingerprint', '--envv=hunter2'])
  t.same(misspelt.stderr, 'fastify-dapr-token-auth fingerprint: Unknown option \'--envv\'\n' + HELP_HINT('fingerprint'), 'a misspelt option is shown, its value not')
  const helpToo = await cli(['fingerprint', '--help', '--envv'])
  t.match(helpToo.stderr, /Unknown option '--envv'/, '--help beside it is no unknown option')
})

test('every command has --help (and -h) with its options, the exit codes, and why secrets stay out of argv', async t => {
  for (const name of ['generate', 'fingerprint', 'verify', 'sign']) {
    const help = await cli([name, '--help'])
    t.equal(help.code, 0, name)
    t.equal(help.stderr, '', name)
    t.match(help.stdout, new RegExp(`^Usage: fastify-dapr-token-auth ${name} `), name)
    t.match(help.stdout, /\n\nExit status: 0 success, 1 token refused \(verify\), 2 bad usage or unusable input,\n3 standard output could not be written\.\n$/, name)
    t.same(await cli([name, '-h']), help, `${name} -h`)
    if (name !== 'generate') t.match(help.stdout, /arguments show in `ps` and \/proc\/<pid>\/cmdline/, name)
  }
  t.match((await cli(['verify', '--help'])).stdout, /--jwt-secret-file PATH .*\n.*--jwt-secret-env NAME .*\n.*--jwt-key-file PATH .*\n {30}.*\n.*--jwks-url URL /)
})

test('generate prints a CSPRNG token of the requested size and encoding', async t => {
  const plain = await cli(['generate'])
  t.equal(plain.code, 0)
  t.match(plain.stdout, /^[A-Za-z0-9_-]{43}\n$/, '32 bytes as base64url by default')
  t.not((await cli(['generate'])).stdout, plain.stdout, 'two runs differ')
  t.match((await cli(['generate', '--bytes', '16', '--encoding', 'hex'])).stdout, /^[0-9a-f]{32}\n$/)
  t.match((await cli(['generate', '-b', '48', '-e', 'base64'])).stdout, /^[A-Za-z0-9+/]{64}\n$/)
  t.equal(Buffer.from((await cli(['generate', '-b', '1024', '-e', 'base64'])).stdout.trim(), 'base64').length, 1024)
})

test('generate refuses sizes below 16 or above 1024 bytes, non-numbers and unknown encodings', async t => {
  for (const bytes of ['15', '1025', '0', '-1', '3.5', 'abc', '']) {
    const result = await cli(['generate', `--bytes=${bytes}`])
    t.equal(result.code, 2, bytes)
    t.equal(result.stdout, '', bytes)
    t.equal(result.stderr, 'fastify-dapr-token-auth generate: --bytes must be a whole number from 16 to 1024\n' + HELP_HINT('generate'), bytes)
  }
  t.same(await cli(['generate', '--encoding', 'base32']), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth generate: --encoding must be one of base64, base64url, hex\n' + HELP_HINT('generate')
  })
})

test('fingerprint prints the same short hash as fingerprint(), from stdin, a file or an env var, trimmed', async t => {
  const dir = t.testdir({ token: 's3cret\n' })
  const expected = { code: 0, stdout: libFingerprint('s3cret') + '\n', stderr: '' }
  t.same(await cli(['fingerprint'], { stdin: 's3cret' }), expected)
  t.same(await cli(['fingerprint'], { stdin: '  s3cret\n' }), expected)
  t.same(await cli(['fingerprint', '--file', join(dir, 'token')]), expected)
  t.same(await cli(['fingerprint', '-f', join(dir, 'token')]), expected)
  t.same(await cli(['fingerprint', '--env', 'TOKEN'], { env: { TOKEN: 's3cret' } }), expected)
})

test('fingerprint explains unusable input without echoing it', async t => {
  const dir = t.testdir({ empty: '\n' })
  const cases: Array<[string[], { stdin?: string, env?: Record<string, string>, tty?: boolean }, string]> = [
    [['--file', join(dir, 'missing')], {}, `cannot read the token from file ${join(dir, 'missing')}: ENOENT`],
    [['--file', join(dir, 'empty')], {}, `file ${join(dir, 'empty')} holds no token: it is empty or blank`],
    [['--env', 'UNSET'], {}, 'the token from environment variable UNSET is not set'],
    [['--env', 'c2VjcmV0LXRva2Vu+/='], {}, 'the token: the environment variable name given is not a name (not shown: it may be a secret)'],
    [['--env', 'BLANK'], { env: { BLANK: '  ' } }, 'the token from environment variable BLANK is empty'],
    [[], { stdin: 'line-one\nline-two\n' }, 'the token from standard input holds more than one line; a header value cannot contain a line break'],
    [[], { tty: true }, 'pipe the token into standard input (for example `printenv APP_API_TOKEN | ...`), or use --file or --env'],
    [['--file', join(dir, 'empty'), '--env', 'X'], {}, 'give the token as a file or an environment variable, not both']
  ]
  for (const [args, options, message] of cases) {
    t.same(await cli(['fingerprint', ...args], options), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth fingerprint: ${message}\n` + HELP_HINT('fingerprint') }, message)
  }
  const noCode = await cli(['fingerprint', '--file', './x'], { io: { readFile: async () => { throw new Error('boom') } } })
  t.match(noCode.stderr, /cannot read the token from file \.\/x: unreadable\n/)
  const secretNoCode = await cli(['sign', '--secret-file', './x'], { io: { readFile: async () => { throw new Error('boom') } } })
  t.match(secretNoCode.stderr, /cannot read the HMAC secret from file \.\/x: unreadable\n/)
})

test('verify accepts a token that matches any configured token and names it by index and fingerprint', async t => {
  const dir = t.testdir({ old: 'old-token\n', new: 'new-token' })
  t.same(await cli(['verify', '--expected-file', join(dir, 'new'), '--expected-file', join(dir, 'old')], { stdin: 'old-token\n' }), {
    code: 0, stdout: `valid: matches configured token 1 (fingerprint ${libFingerprint('old-token')})\n`, stderr: ''
  })
  t.same(await cli(['verify'], { stdin: 'app', env: { APP_API_TOKEN: 'app', DAPR_API_TOKEN: 'dapr' } }), {
    code: 0, stdout: `valid: matches configured token 0 (fingerprint ${libFingerprint('app')})\n`, stderr: ''
  }, 'APP_API_TOKEN by default')
  t.same(await cli(['verify', '--role', 'sidecar', '--env', 'GIVEN'], { env: { APP_API_TOKEN: 'app', DAPR_API_TOKEN: 'dapr', GIVEN: 'dapr' } }), {
    code: 0, stdout: `valid: matches configured token 0 (fingerprint ${libFingerprint('dapr')})\n`, stderr: ''
  }, 'DAPR_API_TOKEN for the sidecar role')
  t.same(await cli(['verify', '--expected-env', 'A', '--expected-file', join(dir, 'old'), '--file', join(dir, 'new')], { env: { A: 'new-token' } }), {
    code: 0, stdout: `valid: matches configured token 1 (fingerprint ${libFingerprint('new-token')})\n`, stderr: ''
  }, 'files come first, then env vars')
})

test('verify refuses a wrong token with exit code 1, fingerprints only, and the likely reason', async t => {
  const env = { APP_API_TOKEN: 's3cret-token' }
  const refused = await cli(['verify'], { stdin: 'S3CRET-TOKEN', env })
  t.same(refused, {
    code: 1,
    stdout: `refused: the token (fingerprint ${libFingerprint('S3CRET-TOKEN')}) matches none of the 1 configured token(s) (${libFingerprint('s3cret-token')})\n` +
      '  hint: it equals configured token 0 except for letter case: tokens are case-sensitive\n',
    stderr: ''
  })
  t.notMatch(refused.stdout, /s3cret/i, 'neither token is printed')

  const base64 = await cli(['verify'], { stdin: Buffer.from('s3cret-token').toString('base64'), env })
  t.equal(base64.code, 1)
  t.match(base64.stdout, /hint: one of it and configured token 0 is the base64 encoding of the other: a Kubernetes Secret's `data` values are base64/)
  t.match(base64.stdout, /hint: its length \(16 bytes\) is that of no configured token \(12 bytes\)\n$/)

  const joined = await cli(['verify'], { stdin: 'a, b', env: { APP_API_TOKEN: 'abcd' } })
  t.same(joined.stdout.split('\n').slice(1), [
    '  hint: it contains ", ": two header lines joined into one? A token header sent twice is always refused', ''
  ], 'same length: no length hint')
})

test('explainMismatch: base64 either way, no hint when nothing fits', async t => {
  t.same(explainMismatch('Zm9vYmFy', ['foobar', 'other']), [
    'one of it and configured token 0 is the base64 encoding of the other: a Kubernetes Secret\'s `data` values are base64, give the decoded value (secretKeyRef and secret volumes decode it)',
    'its length (8 bytes) is that of no configured token (6, 5 bytes)'
  ])
  t.match(explainMismatch('foobar', ['Zm9vYmFy']), [/configured token 0 is the base64 encoding/, /length/])
  t.same(explainMismatch('wrong!', ['secret']), [])
})

test('verify fails with exit code 2 when no token is configured or the role is unknown', async t => {
  t.same(await cli(['verify'], { stdin: 'x' }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: the configured token from environment variable APP_API_TOKEN is not set\n' + HELP_HINT('verify')
  })
  t.same(await cli(['verify', '--role', 'daprd'], { stdin: 'x' }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --role must be one of app, sidecar\n' + HELP_HINT('verify')
  })
})

function keyFiles (dir: string): Record<string, string> {
  const pem = (pair: { privateKey: KeyObject }): string => pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const files: Record<string, string> = {
    rsa: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
    rsaShort: pem(generateKeyPairSync('rsa', { modulusLength: 1024 })),
    rsaPss: pem(generateKeyPairSync('rsa-pss', { modulusLength: 2048 })),
    p256: pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })),
    p384: pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' })),
    k256: pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })),
    ed25519: pem(generateKeyPairSync('ed25519')),
    public: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }) as string
  }
  const paths: Record<string, string> = {}
  for (const [name, text] of Object.entries(files)) {
    paths[name] = join(dir, `${name}.pem`)
    writeFileSync(paths[name], text)
  }
  return paths
}

const decode = createDecoder({ complete: true })

test('sign makes JWTs with HMAC secrets, RSA, EC and Ed25519 keys, with exp, iss, aud, sub, kid and claims', async t => {
  const dir = t.testdir({ secret: 'x'.repeat(32) + '\n' })
  const keys = keyFiles(dir)
  const secret = 'x'.repeat(32)

  const hs = await cli(['sign', '--secret-file', join(dir, 'secret'), '--iss', 'issuer', '--aud', 'app', '--sub', 'me', '--kid', 'k1', '--claim', 'n=1', '--claim', 'tags=["a"]', '--claim', 'word=plain', '--exp', '15m'])
  t.equal(hs.code, 0)
  t.equal(hs.stderr, '')
  const payload = createVerifier({ key: secret, algorithms: ['HS256'] })(hs.stdout.trim())
  t.match(payload, { iss: 'issuer', aud: 'app', sub: 'me', n: 1, tags: ['a'], word: 'plain' })
  t.equal(payload.exp - payload.iat, 15 * 60)
  t.match(decode(hs.stdout.trim()).header, { alg: 'HS256', kid: 'k1', typ: 'JWT' })

  const fromStdin = await cli(['sign', '--alg', 'HS384', '--aud', 'a', '--aud', 'b', '--exp', 'never'], { stdin: 'y'.repeat(48) })
  const hs384 = createVerifier({ key: 'y'.repeat(48), algorithms: ['HS384'] })(fromStdin.stdout.trim())
  t.same(hs384.aud, ['a', 'b'])
  t.equal(hs384.exp, undefined, '--exp never')
  const fromEnv = await cli(['sign', '--secret-env', 'S', '-a', 'HS512'], { env: { S: 'z'.repeat(64) } })
  t.equal(createVerifier({ key: 'z'.repeat(64), algorithms: ['HS512'] })(fromEnv.stdout.trim()).exp - Math.floor(Date.now() / 1000) > 3500, true, '1h by default')

  const expected: Array<[string, string[], string]> = [
    ['rsa', [], 'RS256'], ['rsa', ['--alg', 'PS384'], 'PS384'],
    ['p256', [], 'ES256'], ['p384', [], 'ES384'], ['ed25519', [], 'EdDSA']
  ]
  for (const [key, extra, alg] of expected) {
    const signed = await cli(['sign', '--key-file', keys[key] as string, ...extra])
    t.equal(signed.code, 0, `${key} ${alg}: ${signed.stderr}`)
    t.equal(decode(signed.stdout.trim()).header.alg, alg, key)
  }
})

test('sign refuses keys and secrets that do not fit the algorithm, and bad claims, with exit code 2', async t => {
  const dir = t.testdir({ secret: 'x'.repeat(32), short: 'x'.repeat(31) })
  const keys = keyFiles(dir)
  const cases: Array<[string[], string, { stdin?: string }?]> = [
    [['--alg', 'none', '--secret-file', join(dir, 'secret')], '--alg must be one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA'],
    [['--key-file', keys.rsa as string, '--secret-env', 'X'], 'give either --key-file or an HMAC secret, not both'],
    [['--key-file', keys.rsa as string, '--secret-file', 'x'], 'give either --key-file or an HMAC secret, not both'],
    [['--key-file', join(dir, 'nope.pem')], `cannot read the private key from file ${join(dir, 'nope.pem')}: ENOENT`],
    [['--key-file', keys.public as string], `${keys.public as string} holds a public key, which cannot sign: give the private key`],
    [['--key-file', join(dir, 'secret')], `${join(dir, 'secret')} holds no readable PEM private key`],
    [['--key-file', keys.rsa as string, '--alg', 'HS256'], 'HS256 signs with an HMAC secret, not a private key: use --secret-file or --secret-env'],
    [['--key-file', keys.ed25519 as string, '--alg', 'RS256'], 'RS256 needs an RSA private key; the key file holds a key of type ed25519'],
    [['--key-file', keys.p384 as string, '--alg', 'ES256'], 'ES256 needs a P-256 EC private key; the key file holds a key of type ec (secp384r1)'],
    [['--key-file', keys.k256 as string], 'ES256 needs a P-256 EC private key; the key file holds a key of type ec (secp256k1)'],
    [['--key-file', keys.rsaShort as string], 'the RSA key has 1024 bits; use at least 2048'],
    [['--key-file', keys.rsaPss as string], 'RS256 needs an RSA private key; the key file holds a key of type rsa-pss'],
    [['--secret-file', join(dir, 'secret'), '--alg', 'ES256'], 'ES256 signs with a private key: use --key-file'],
    [['--secret-file', join(dir, 'short')], 'HS256 needs a secret of at least 32 bytes (RFC 7518 section 3.2); this one is shorter'],
    [['--secret-file', join(dir, 'secret'), '--exp', '0'], '--exp must be a positive duration such as 90, 30s, 15m, 1h or 7d, or \'never\''],
    [['--secret-file', join(dir, 'secret'), '--claim', '=1'], '--claim must look like name=value'],
    [['--secret-file', join(dir, 'secret'), '--claim', 'novalue'], '--claim must look like name=value'],
    [[], 'the HMAC secret from standard input is empty', { stdin: '' }]
  ]
  for (const [args, message, options] of cases) {
    t.same(await cli(['sign', ...args], options), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: ${message}\n` + HELP_HINT('sign') }, message)
  }
})

test('parseDuration reads seconds by default and the units ms, s, m, h, d', async t => {
  t.equal(parseDuration('90'), 90_000)
  t.equal(parseDuration('250ms'), 250)
  t.equal(parseDuration('30s'), 30_000)
  t.equal(parseDuration('2h'), 7_200_000)
  t.equal(parseDuration('7d'), 604_800_000)
  t.equal(parseDuration('never'), undefined)
  for (const bad of ['', '1w', '-5', '1.5h', '0s']) t.throws(() => parseDuration(bad), CliError, bad)
})

test('an unexpected failure is reported as ours, without its message, exit code 2', async t => {
  const result = await cli(['fingerprint'], { io: { readStdin: async () => { throw new RangeError('secret-bearing detail') } } })
  t.same(result, { code: 2, stdout: '', stderr: 'fastify-dapr-token-auth fingerprint: unexpected failure (RangeError)\n' + HELP_HINT('fingerprint') })
})

test('CliError carries exit code 2 unless told otherwise', async t => {
  t.equal(new CliError('x').exitCode, 2)
  t.equal(new CliError('x', 1).exitCode, 1)
  t.equal(new CliError('x').name, 'CliError')
})

test('main() runs with a process: argv, stdin, env, files, and sets the exit code', async t => {
  const dir = t.testdir({ token: 's3cret\n' })
  function fakeProcess (argv: string[], stdin: string, isTTY?: boolean): { proc: NodeJS.Process, out: string[], err: string[] } {
    const out: string[] = []
    const err: string[] = []
    const input = Object.assign(Readable.from([Buffer.from(stdin)]), { isTTY })
    const proc = {
      argv: ['node', 'bin.js', ...argv],
      env: { T: 's3cret' },
      stdin: input,
      stdout: collector(out),
      stderr: collector(err),
      exitCode: undefined as number | undefined
    }
    return { proc: proc as unknown as NodeJS.Process, out, err }
  }
  const piped = fakeProcess(['fingerprint'], 'wrong\n')
  await main(piped.proc)
  t.same(piped.out, [libFingerprint('wrong') + '\n'])
  t.equal(piped.proc.exitCode, 0)

  const verified = fakeProcess(['verify', '--file', join(dir, 'token'), '--expected-env', 'T'], '')
  await main(verified.proc)
  t.same(verified.out, [`valid: matches configured token 0 (fingerprint ${libFingerprint('s3cret')})\n`])

  const tty = fakeProcess(['fingerprint'], '', true)
  await main(tty.proc)
  t.equal(tty.proc.exitCode, 2)
  t.match(tty.err.join(''), /pipe the token into standard input/)
})

test('verify --jwt-*: a JWT checked by the plugin\'s own jwt verifier, claims printed, refusals by code', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const dir = t.testdir({ secret })
  const good = signDaprJwt({ sub: 'caller', scope: 'x' }, { key: secret, issuer: 'me', audience: 'app', expiresIn: 600 })
  const valid = await cli(['verify', '--jwt-secret-file', join(dir, 'secret'), '--iss', 'me', '--aud', 'app', '--sub', 'caller', '--alg', 'HS256'], { stdin: good })
  t.equal(valid.code, 0, valid.stderr)
  t.match(valid.stdout, /^valid: JWT accepted; claims \{.*"sub":"caller".*\}\n$/)
  t.match(JSON.parse(valid.stdout.slice(valid.stdout.indexOf('{'))), { sub: 'caller', scope: 'x', iss: 'me', aud: 'app' })

  const expired = createSigner({ key: secret, clockTimestamp: Date.now() - 3_600_000, expiresIn: 60_000 })({ sub: 'caller' })
  t.same(await cli(['verify', '--jwt-secret-env', 'S'], { stdin: expired, env: { S: secret } }), {
    code: 1, stdout: 'refused: Expired Dapr API token (FST_DAPR_TOKEN_EXPIRED)\n', stderr: ''
  })
  const wrongIssuer = await cli(['verify', '--jwt-secret-env', 'S', '--iss', 'someone-else'], { stdin: good, env: { S: secret } })
  t.same(wrongIssuer, { code: 1, stdout: 'refused: Dapr API token claim not allowed (FST_DAPR_TOKEN_CLAIM_MISMATCH): iss is "me", not --iss "someone-else"\n', stderr: '' })
})

test('verify --jwt-*: a refusal for a claim or the algorithm says which, and what was allowed', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const env = { S: secret }
  const many = signDaprJwt({ sub: 'caller' }, { key: secret, issuer: 'me', audience: ['other', 'app'] })
  t.same(await cli(['verify', '--jwt-secret-env', 'S', '--aud', 'app', '--sub', 'someone', '--iss', 'you'], { stdin: many, env }), {
    code: 1, stdout: 'refused: Dapr API token claim not allowed (FST_DAPR_TOKEN_CLAIM_MISMATCH): iss is "me", not --iss "you"; sub is "caller", not --sub "someone"\n', stderr: ''
  })
  t.same(await cli(['verify', '--jwt-secret-env', 'S', '--aud', 'elsewhere'], { stdin: many, env }), {
    code: 1, stdout: 'refused: Dapr API token claim not allowed (FST_DAPR_TOKEN_CLAIM_MISMATCH): aud is ["other","app"], not --aud "elsewhere"\n', stderr: ''
  })
  t.same(await cli(['verify', '--jwt-secret-env', 'PEM'], { stdin: many, env: { PEM: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' } }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: the JWT secret from environment variable PEM holds more than one line; a secret is one line (a PEM key goes in a key file: --jwt-key-file, --key-file)\n' + HELP_HINT('verify')
  })
  const noIss = signDaprJwt({ sub: 'caller' }, { key: secret })
  t.same(await cli(['verify', '--jwt-secret-env', 'S', '--iss', 'me', '--sub', 'caller'], { stdin: noIss, env }), {
    code: 1, stdout: 'refused: Dapr API token lacks a required claim (FST_DAPR_TOKEN_MISSING_CLAIM): the token has no iss (asked for by --iss)\n', stderr: ''
  })
  const oddAud = forgeHmac({ alg: 'HS256', typ: 'JWT' }, { aud: ['app', 5] }, secret)
  t.same(await cli(['verify', '--jwt-secret-env', 'S', '--aud', 'app'], { stdin: oddAud, env }), {
    code: 1, stdout: 'refused: Dapr API token claim not allowed (FST_DAPR_TOKEN_CLAIM_MISMATCH): a claim has the wrong type (exp, nbf and iat are numbers, iss and sub strings, aud a string or strings)\n', stderr: ''
  })
  const stringExp = forgeHmac({ alg: 'HS256', typ: 'JWT' }, { exp: 'tomorrow' }, secret)
  t.same(await cli(['verify', '--jwt-secret-env', 'S'], { stdin: stringExp, env }), {
    code: 1, stdout: 'refused: Dapr API token claim not allowed (FST_DAPR_TOKEN_CLAIM_MISMATCH): a claim has the wrong type (exp, nbf and iat are numbers, iss and sub strings, aud a string or strings)\n', stderr: ''
  })
  const long = 'a-64-byte-secret-for-hs512-a-64-byte-secret-for-hs512-a-64-byte!'
  const hs512 = signDaprJwt({}, { key: long, algorithm: 'HS512' })
  t.same(await cli(['verify', '--jwt-secret-env', 'L'], { stdin: hs512, env: { L: long } }), {
    code: 1, stdout: 'refused: Dapr API token algorithm not allowed (FST_DAPR_TOKEN_ALGORITHM): the token says alg "HS512"; allowed: HS256 by default (pass --alg to allow another the key fits)\n', stderr: ''
  })
  t.same(await cli(['verify', '--jwt-secret-env', 'L', '--alg', 'HS256', '--alg', 'HS384'], { stdin: hs512, env: { L: long } }), {
    code: 1, stdout: 'refused: Dapr API token algorithm not allowed (FST_DAPR_TOKEN_ALGORITHM): the token says alg "HS512"; allowed: HS256, HS384\n', stderr: ''
  })
  t.equal((await cli(['verify', '--jwt-secret-env', 'L', '--alg', 'HS512'], { stdin: hs512, env: { L: long } })).code, 0)
})

test('verify --jwt-key-file takes a PEM public key or a JWK; --jwks-url a JWKS endpoint', async t => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const dir = t.testdir({
    'public.pem': publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'public.jwk': JSON.stringify(publicKey.export({ format: 'jwk' })),
    'broken.jwk': '{ not json',
    'secret.hex': 'ab'.repeat(32),
    'short.txt': 'not-a-key',
    'secret.jwk': JSON.stringify({ kty: 'oct', k: Buffer.alloc(64, 1).toString('base64url') }),
    'public.hex': publicKey.export({ type: 'spki', format: 'der' }).toString('hex')
  })
  const token = signDaprJwt({ sub: 'caller' }, { key: privateKey, kid: 'k1' })
  // Regression: a file holding no public key was handed on as text and verified as an HMAC secret.
  t.same(await cli(['verify', '--jwt-key-file', join(dir, 'secret.hex')], { stdin: token }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: the --jwt-key-file holds no public key (PEM, base64 or hex DER), public JWK or JWKS; for an HMAC secret use --jwt-secret-file\n' + HELP_HINT('verify')
  })
  for (const file of ['short.txt', 'secret.jwk']) {
    const refused = await cli(['verify', '--jwt-key-file', join(dir, file)], { stdin: token })
    t.same([refused.code, refused.stdout], [2, ''], file)
    t.match(refused.stderr, /the --jwt-key-file holds no public key .* for an HMAC secret use --jwt-secret-file/, file)
  }
  for (const file of ['public.pem', 'public.jwk', 'public.hex']) {
    const result = await cli(['verify', '--jwt-key-file', join(dir, file)], { stdin: token })
    t.equal(result.code, 0, `${file}: ${result.stderr}`)
  }
  t.same(await cli(['verify', '--jwt-key-file', join(dir, 'broken.jwk')], { stdin: token }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: the --jwt-key-file holds neither a PEM key nor a JWK or JWKS in JSON\n' + HELP_HINT('verify')
  })
  const hs = await cli(['verify', '--jwt-key-file', join(dir, 'public.pem')], { stdin: forgeHmac({ alg: 'HS256' }, {}, 'x'.repeat(40)) })
  t.same([hs.code, hs.stdout], [1, 'refused: Dapr API token algorithm not allowed (FST_DAPR_TOKEN_ALGORITHM): the token says alg "HS256"; allowed: the one the key implies by default (pass --alg to allow another the key fits)\n'])
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
  const forged = await cli(['verify', '--jwt-key-file', join(dir, 'public.pem')], { stdin: signDaprJwt({ sub: 'caller' }, { key: otherKey }) })
  t.same([forged.code, forged.stdout], [1, 'refused: Invalid Dapr API token signature (FST_DAPR_TOKEN_BAD_SIGNATURE)\n'])

  const jwksServer = Fastify()
  jwksServer.get('/jwks.json', async () => ({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] }))
  t.teardown(() => jwksServer.close())
  const { url } = await listen(jwksServer)
  const viaJwks = await cli(['verify', '--jwks-url', `${url}/jwks.json`, '--alg', 'ES256'], { stdin: token })
  t.equal(viaJwks.code, 0, viaJwks.stderr)
  t.match(viaJwks.stdout, /^valid: JWT accepted; claims \{"sub":"caller"/)

  const down = await cli(['verify', '--jwks-url', `${url}/missing.json`, '--alg', 'ES256'], { stdin: token })
  t.equal(down.code, 2)
  t.match(down.stderr, /^fastify-dapr-token-auth verify: the key source failed: /)
})

test('verify --jwt-*: one key source, usable options, or a usage error', async t => {
  const dir = t.testdir({ secret: 'jwt-secret-of-at-least-32-bytes!!' })
  const token = signDaprJwt({ sub: 'x' }, { key: 'jwt-secret-of-at-least-32-bytes!!' })
  const both = await cli(['verify', '--jwt-secret-file', join(dir, 'secret'), '--jwks-url', 'https://example.invalid/jwks'], { stdin: token })
  t.same(both, { code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: give one JWT key source, not --jwt-secret-file and --jwks-url\n' + HELP_HINT('verify') })
  const badUrl = await cli(['verify', '--jwks-url', 'ftp://127.0.0.1/jwks'], { stdin: token })
  t.equal(badUrl.code, 2)
  t.match(badUrl.stderr, /^fastify-dapr-token-auth verify: .*FST_DAPR_TOKEN_OPTIONS|^fastify-dapr-token-auth verify: Invalid fastify-dapr-token-auth options: /)
  t.same(await cli(['verify', '--jwt-secret-file', join(dir, 'secret'), '--alg', 'none'], { stdin: token }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --alg must be one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA\n' + HELP_HINT('verify')
  })
  t.same(await cli(['verify', '--jwt-secret-file', join(dir, 'nope')], { stdin: token }), {
    code: 2, stdout: '', stderr: `fastify-dapr-token-auth verify: cannot read the JWT secret from file ${join(dir, 'nope')}: ENOENT\n` + HELP_HINT('verify')
  })
})

test('a secret passed as a positional argument is never echoed', async t => {
  for (const command of ['fingerprint', 'verify', 'sign', 'generate']) {
    const result = await cli([command, 'mysecret-value'])
    t.equal(result.code, 2, command)
    t.notOk(result.stderr.includes('mysecret-value'), `${command}: the value is not in the message`)
    t.match(result.stderr, /unexpected positional argument \(its value is not shown/)
  }
})

test('help <command> prints that command\'s help', async t => {
  const viaHelp = await cli(['help', 'generate'])
  const viaFlag = await cli(['generate', '--help'])
  t.equal(viaHelp.code, 0)
  t.match(viaHelp.stdout, /^Usage: fastify-dapr-token-auth generate /)
  t.same(viaHelp, viaFlag)
  t.equal((await cli(['help', 'mint'])).code, 2)
})

test('verify --expected-file reads the file as fromFile does and checks against every token in it', async t => {
  const dir = t.testdir({ multi: '\uFEFF  old-token \r\n\r\nnew-token\r\n', blank: '\n \r\n' })
  const file = join(dir, 'multi')
  t.same(await cli(['verify', '--expected-file', file], { stdin: 'new-token' }), {
    code: 0, stdout: `valid: matches configured token 1 (fingerprint ${libFingerprint('new-token')})\n`, stderr: ''
  })
  t.same((await cli(['verify', '--expected-file', file], { stdin: 'old-token' })).code, 0)
  const wrong = await cli(['verify', '--expected-file', file], { stdin: 'other-token' })
  t.equal(wrong.code, 1)
  t.match(wrong.stdout, `matches none of the 2 configured token(s) (${libFingerprint('old-token')}, ${libFingerprint('new-token')})`)
  t.same(await cli(['verify', '--expected-file', join(dir, 'blank')], { stdin: 'x' }), {
    code: 2, stdout: '', stderr: `fastify-dapr-token-auth verify: file ${join(dir, 'blank')} holds no configured tokens: it is empty or blank\n` + HELP_HINT('verify')
  })
  const unreadable = await cli(['verify', '--expected-file', './x'], { stdin: 'x', io: { readFile: async () => { throw new Error('boom') } } })
  t.match(unreadable.stderr, /cannot read the configured tokens from file \.\/x: unreadable\n/)
})

test('fingerprint --file with several tokens prints one fingerprint per token, as fromFile\'s state shows them', async t => {
  const dir = t.testdir({ multi: 'alpha\r\n\r\n beta \n' })
  t.same(await cli(['fingerprint', '--file', join(dir, 'multi')]), {
    code: 0, stdout: `${libFingerprint('alpha')}\n${libFingerprint('beta')}\n`, stderr: ''
  })
})

test('verify refuses options of two modes at once with exit code 2, naming both', async t => {
  const dir = t.testdir({ plain: 'plain-token\n', sec: 'jwt-secret-of-at-least-32-bytes!!' })
  t.same(await cli(['verify', '--expected-file', join(dir, 'plain'), '--jwt-secret-file', join(dir, 'sec')], { stdin: 'plain-token' }), {
    code: 2,
    stdout: '',
    stderr: 'fastify-dapr-token-auth verify: --expected-file (shared verification) conflicts with --jwt-secret-file (jwt verification): give the options of one mode only\n' + HELP_HINT('verify')
  })
  t.same(await cli(['verify', '--alg', 'HS256'], { stdin: 'plain-token', env: { APP_API_TOKEN: 'plain-token' } }), {
    code: 2,
    stdout: '',
    stderr: 'fastify-dapr-token-auth verify: --alg is for jwt verification, which needs its key option; without one, verify checks shared tokens\n' + HELP_HINT('verify')
  })
})

test('sign refuses a claim given twice or of the wrong type, and --claim exp replaces the default expiry', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const decode = createDecoder()
  const withExp = await cli(['sign', '--claim', 'exp=1'], { stdin: secret })
  t.equal(withExp.code, 0, withExp.stderr)
  t.equal(decode(withExp.stdout.trim()).exp, 1, '--claim exp=1 is the exp')
  const cases: Array<[string[], string]> = [
    [['--claim', 'exp=1', '--exp', '1h'], '--claim exp=... and --exp conflict: give the exp claim once'],
    [['--claim', 'aud=x', '--aud', 'y'], '--claim aud=... and --aud conflict: give the aud claim once'],
    [['--claim', 'iss=x', '--iss', 'y'], '--claim iss=... and --iss conflict: give the iss claim once'],
    [['--claim', 'exp="soon"'], '--claim exp must be a whole number of seconds since the epoch, above 0 (RFC 7519), not a string'],
    [['--claim', 'nbf=true'], '--claim nbf must be a whole number of seconds since the epoch, above 0 (RFC 7519), not a boolean'],
    [['--claim', 'sub=1'], '--claim sub must be a string'],
    [['--claim', 'aud=[1]'], '--claim aud must be a string or an array of strings']
  ]
  for (const [args, message] of cases) {
    t.same(await cli(['sign', ...args], { stdin: secret }), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: ${message}\n` + HELP_HINT('sign') }, message)
  }
  const audList = await cli(['sign', '--claim', 'aud=["a","b"]'], { stdin: secret })
  t.same(decode(audList.stdout.trim()).aud, ['a', 'b'])
})

test('verify --jwks-url failures say why: a refused connection, an HTTP status, a missing --alg', async t => {
  const token = signDaprJwt({ sub: 'x' }, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, kid: 'k1' })
  const closed = Fastify()
  const { port } = await listen(closed)
  await closed.close()
  const refused = await cli(['verify', '--jwks-url', `http://127.0.0.1:${port}/jwks.json`, '--alg', 'ES256'], { stdin: token })
  t.equal(refused.code, 2)
  t.match(refused.stderr, /^fastify-dapr-token-auth verify: the key source failed: .*\(cause: .*ECONNREFUSED\)\n/)

  const server = Fastify()
  server.get('/jwks.json', async (_request, reply) => reply.code(503).send('down'))
  t.teardown(() => server.close())
  const { url } = await listen(server)
  const status = await cli(['verify', '--jwks-url', `${url}/jwks.json`, '--alg', 'ES256'], { stdin: token })
  t.match(status.stderr, /\(cause: JWKS endpoint answered HTTP 503\)\n/)

  // A server that accepts and never answers: the fetch times out (fromJwks's 5 s timeoutMs).
  const sockets = new Set<Socket>()
  const hanging = createServer(socket => { sockets.add(socket) })
  await new Promise<void>(resolve => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const socket of sockets) socket.destroy(); hanging.close() })
  const hangingPort = (hanging.address() as AddressInfo).port
  const timedOut = await cli(['verify', '--jwks-url', `http://127.0.0.1:${hangingPort}/jwks.json`, '--alg', 'ES256'], { stdin: token })
  t.equal(timedOut.code, 2)
  t.match(timedOut.stderr, /^fastify-dapr-token-auth verify: the key source failed: .*\(cause: timed out\)\n/)

  t.same(await cli(['verify', '--jwks-url', `${url}/jwks.json`], { stdin: token }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --jwks-url needs --alg: name the algorithm(s) your issuer signs with, for example --alg RS256\n' + HELP_HINT('verify')
  })
})

test('causeOf names a timeout, a code or a message along the cause chain, once each', async t => {
  t.equal(causeOf(new Error('x')), '')
  const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' })
  t.equal(causeOf(Object.assign(new Error('x'), { cause: timeout })), ' (cause: timed out)')
  const chain = Object.assign(new Error('x'), { cause: Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) }) })
  t.equal(causeOf(chain), ' (cause: fetch failed: ECONNRESET)')
  t.equal(causeOf({ cause: 'plain' }), ' (cause: plain)')
  t.equal(causeOf({ cause: { message: 'a', cause: { message: 'a' } } }), ' (cause: a)', 'a repeated cause is said once')
})

test('sign refuses exp, nbf and iat claims that are not whole seconds above 0, by signDaprJwt\'s own rule (exp=0 made a token that never expires)', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const rule = 'must be a whole number of seconds since the epoch, above 0 (RFC 7519), not'
  const cases: Array<[string, string]> = [
    ['exp=0', `exp ${rule} 0`],
    ['nbf=0', `nbf ${rule} 0`],
    ['iat=0', `iat ${rule} 0`],
    ['nbf=-1', `nbf ${rule} a negative number`],
    ['nbf=1.5', `nbf ${rule} a fraction`],
    ['exp=-1', `exp ${rule} a negative number`],
    ['exp=1.5', `exp ${rule} a fraction`],
    ['exp=null', `exp ${rule} null`]
  ]
  for (const [claim, message] of cases) {
    const [name, value] = claim.split('=') as [string, string]
    t.equal(`--claim ${timeClaimProblem({ [name]: JSON.parse(value) }) as string}`, `--claim ${message}`, `${claim}: the library's rule`)
    t.same(await cli(['sign', '--claim', claim], { stdin: secret }), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: --claim ${message}\n` + HELP_HINT('sign') }, claim)
  }
  t.equal(timeClaimProblem({ exp: 1, nbf: 2, iat: 3, other: 0 }), undefined, 'whole seconds above 0; other claims are not time claims')
})

test('sign refuses a JSON number that is not finite anywhere in a claim, instead of signing it as null', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const cases: Array<[string, string]> = [['big=1e400', 'big'], ['exp=1e400', 'exp'], ['list=[1,-1e400]', 'list'], ['deep={"a":{"b":1e999}}', 'deep']]
  for (const [claim, name] of cases) {
    t.same(await cli(['sign', '--claim', claim], { stdin: secret }), {
      code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: --claim ${name} holds a number too large for JSON (it reads as Infinity, which would be signed as null)\n` + HELP_HINT('sign')
    }, claim)
  }
  const fine = await cli(['sign', '--claim', 'n={"a":[1,2.5,null,"x",true]}'], { stdin: secret })
  t.equal(fine.code, 0, fine.stderr)
  t.same(createDecoder()(fine.stdout.trim()).n, { a: [1, 2.5, null, 'x', true] })
})

test('sign refuses an empty --kid, --iss, --sub or --aud instead of putting an empty value in the token', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  for (const args of [['--kid='], ['--iss', ''], ['--sub='], ['--aud', 'app', '--aud', '']]) {
    const name = (args[0] as string).replace(/=$/, '')
    t.same(await cli(['sign', ...args], { stdin: secret }), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: ${name} must not be empty\n` + HELP_HINT('sign') }, args.join(' '))
  }
})

test('sign --exp counts from iat: with --claim iat=N, --exp 1h gives exp N+3600, as --help says', async t => {
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const signed = await cli(['sign', '--claim', 'iat=1000', '--exp', '1h'], { stdin: secret })
  t.equal(signed.code, 0, signed.stderr)
  t.match(createDecoder()(signed.stdout.trim()), { iat: 1000, exp: 4600 })
  t.match((await cli(['sign', '--help'])).stdout, /--exp DURATION {6}expiry, counted from iat \(now, unless --claim iat=N sets it\)/)
})

test('sign signs with signDaprJwt: an HMAC secret the verifier would read as a public key is refused', async t => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
  t.same(await cli(['sign', '--secret-env', 'S'], { env: { S: spki } }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth sign: the HMAC secret is refused (a public key cannot sign: give the private key)\n' + HELP_HINT('sign')
  })
  t.notOk((await cli(['sign', '--secret-env', 'S'], { env: { S: spki } })).stderr.includes(spki.slice(0, 20)), 'the key is not shown')
})

test('sign --key-file that holds no readable private key says so, and a public key is named as one', async t => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const dir = t.testdir({
    'corrupt.pem': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    'key.der': privateKey.export({ type: 'pkcs8', format: 'der' }).toString('latin1'),
    'key.json': JSON.stringify(privateKey.export({ format: 'jwk' })),
    'cert.pem': publicKey.export({ type: 'spki', format: 'pem' }) as string
  })
  for (const file of ['corrupt.pem', 'key.der', 'key.json']) {
    t.same(await cli(['sign', '--key-file', join(dir, file)]), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: ${join(dir, file)} holds no readable PEM private key\n` + HELP_HINT('sign') }, file)
  }
  t.same(await cli(['sign', '--key-file', join(dir, 'cert.pem')]), {
    code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: ${join(dir, 'cert.pem')} holds a public key, which cannot sign: give the private key\n` + HELP_HINT('sign')
  })
})

test('a value given to --bytes, --encoding, --alg, --exp, --claim or --role is never printed back: it may be a secret', async t => {
  const token = 'TKSkOGPVQ0dmeLstqiwVaZljYsTXFg_SopzfvbSNehg'
  const secret = 'jwt-secret-of-at-least-32-bytes!!'
  const algs = 'HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA'
  const cases: Array<[string[], string]> = [
    [['generate', '--bytes', token], 'generate: --bytes must be a whole number from 16 to 1024'],
    [['generate', '--encoding', token], 'generate: --encoding must be one of base64, base64url, hex'],
    [['sign', '--alg', token], `sign: --alg must be one of ${algs}`],
    [['sign', '--exp', token], 'sign: --exp must be a positive duration such as 90, 30s, 15m, 1h or 7d, or \'never\''],
    [['sign', '--claim', token], 'sign: --claim must look like name=value'],
    [['verify', '--role', token], 'verify: --role must be one of app, sidecar'],
    [['verify', '--jwt-secret-env', 'S', '--alg', 'HS256', '--alg', token], `verify: --alg must be one of ${algs}`]
  ]
  for (const [argv, message] of cases) {
    const result = await cli(argv, { stdin: secret, env: { S: secret, APP_API_TOKEN: 'x' } })
    t.same(result, { code: 2, stdout: '', stderr: `fastify-dapr-token-auth ${message}\n` + HELP_HINT(argv[0] as string) }, argv.slice(0, 2).join(' '))
    t.notOk(result.stdout.includes(token) || result.stderr.includes(token), `${argv.slice(0, 2).join(' ')}: the value is not shown`)
  }
})

test('verify --role beside --expected-file or --expected-env is a usage error: it would be ignored', async t => {
  const dir = t.testdir({ token: 'x\n' })
  // Told before any input is read: an empty standard input is not what is reported.
  t.same(await cli(['verify', '--role', 'sidecar', '--expected-env', 'X'], { stdin: '', env: { X: 'x' } }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --role has no effect with --expected-env: it only picks the variable read without them (APP_API_TOKEN or DAPR_API_TOKEN)\n' + HELP_HINT('verify')
  })
  t.same(await cli(['verify', '--role', 'app', '--expected-file', join(dir, 'token')], { stdin: 'x' }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: --role has no effect with --expected-file: it only picks the variable read without them (APP_API_TOKEN or DAPR_API_TOKEN)\n' + HELP_HINT('verify')
  })
})

test('verify --expected-file with no token in it says the file holds no configured tokens', async t => {
  t.same(await cli(['verify', '--expected-file', '/dev/null'], { stdin: 'x' }), {
    code: 2, stdout: '', stderr: 'fastify-dapr-token-auth verify: file /dev/null holds no configured tokens: it is empty or blank\n' + HELP_HINT('verify')
  })
})

test('standard input and files are read no further than 1 MiB, then a usage error names the limit', async t => {
  t.equal(MAX_INPUT_BYTES, 1024 * 1024)
  const limit = 'is larger than 1 MiB: reading stopped there (a token, secret, PEM key or JWKS is far smaller)'
  // An endless stream (as `yes | ...` is): reading stops at the limit.
  let pulled = 0
  const endless = Readable.from((function * () { for (;;) { pulled++; yield Buffer.alloc(64 * 1024, 0x61) } })())
  const io = processIo({ stdin: endless, stdout: collector([]), stderr: collector([]), env: {} } as unknown as NodeJS.Process)
  await t.rejects(io.readStdin(), InputTooLargeError)
  t.ok(pulled <= 20, `stopped after ${pulled} chunks of 64 KiB`)
  t.ok(endless.destroyed, 'the stream is released')

  const dir = t.testdir({ over: 'a'.repeat(MAX_INPUT_BYTES + 1), exact: 'a'.repeat(MAX_INPUT_BYTES) })
  await t.rejects(io.readFile(join(dir, 'over')), InputTooLargeError)
  t.equal((await io.readFile(join(dir, 'exact'))).length, MAX_INPUT_BYTES, 'exactly the limit is read')
  await t.rejects(io.readFile(join(dir, 'missing')), { code: 'ENOENT' })

  const tooLarge = async (): Promise<string> => { throw new InputTooLargeError() }
  t.same(await cli(['fingerprint'], { io: { readStdin: tooLarge } }), { code: 2, stdout: '', stderr: `fastify-dapr-token-auth fingerprint: the token from standard input ${limit}\n` + HELP_HINT('fingerprint') })
  t.same(await cli(['fingerprint', '--file', join(dir, 'over')], { io: { readFile: tooLarge } }), {
    code: 2, stdout: '', stderr: `fastify-dapr-token-auth fingerprint: the token from file ${join(dir, 'over')} ${limit}\n` + HELP_HINT('fingerprint')
  })
  t.same(await cli(['sign', '--secret-file', join(dir, 'over')], { io: { readFile: tooLarge } }), {
    code: 2, stdout: '', stderr: `fastify-dapr-token-auth sign: the HMAC secret from file ${join(dir, 'over')} ${limit}\n` + HELP_HINT('sign')
  })

  // Through main(), with the real reader: an endless standard input ends in exit code 2.
  const err: string[] = []
  const proc = {
    argv: ['node', 'bin.js', 'fingerprint'],
    env: {},
    stdin: Readable.from((function * () { for (;;) yield Buffer.from('aaaa\n'.repeat(4096)) })()),
    stdout: collector([]),
    stderr: collector(err),
    exitCode: undefined as number | undefined
  } as unknown as NodeJS.Process
  await main(proc)
  t.equal(proc.exitCode, 2)
  t.same(err.join(''), `fastify-dapr-token-auth fingerprint: the token from standard input ${limit}\n` + HELP_HINT('fingerprint'))
})

test('a failing standard output is one line on stderr and exit code 3, never a stack trace or exit code 1', async t => {
  function failing (error: Error, async: boolean): Writable {
    return new Writable({ write (_chunk, _encoding, callback) { if (async) setImmediate(callback, error); else callback(error) } })
  }
  const cases: Array<[Writable, string]> = [
    [failing(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), false), 'ENOSPC'],
    [failing(Object.assign(new Error('broken pipe'), { code: 'EPIPE' }), true), 'EPIPE'],
    [failing(new RangeError('odd'), false), 'RangeError']
  ]
  for (const [stdout, code] of cases) {
    const err: string[] = []
    const proc = {
      argv: ['node', 'bin.js', 'generate'],
      env: {},
      stdin: Readable.from([]),
      stdout,
      stderr: collector(err),
      exitCode: undefined as number | undefined
    } as unknown as NodeJS.Process
    await main(proc)
    t.equal(proc.exitCode, 3, code)
    t.same(err, [`fastify-dapr-token-auth: cannot write to standard output (${code})\n`], code)
  }
  // A failing stderr too: nothing is thrown, and the command's own exit code stands.
  const proc = {
    argv: ['node', 'bin.js', 'generate', '--bytes', '1'],
    env: {},
    stdin: Readable.from([]),
    stdout: collector([]),
    stderr: failing(Object.assign(new Error('no space'), { code: 'ENOSPC' }), false),
    exitCode: undefined as number | undefined
  } as unknown as NodeJS.Process
  await main(proc)
  t.equal(proc.exitCode, 2)
})

test('verify --jwt-key-file takes a JWKS document and picks its key by the token\'s kid', async t => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const enc = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' })
  const dir = t.testdir({
    'jwks.json': JSON.stringify({
      keys: [
        { ...ec.publicKey.export({ format: 'jwk' }), kid: 'e1' },
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'r1', use: 'sig' },
        // Left out, as fromJwks leaves them out: an encryption key, an unsupported curve, an alg that does not fit.
        { ...enc, kid: 'x1', use: 'enc' },
        { ...k256, kid: 'k1' },
        { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'a1', alg: 'ES256' }
      ]
    }),
    'one.json': JSON.stringify({ keys: [ec.publicKey.export({ format: 'jwk' })] })
  })
  const jwks = join(dir, 'jwks.json')
  for (const [key, kid] of [[ec.privateKey, 'e1'], [rsa.privateKey, 'r1']] as const) {
    const result = await cli(['verify', '--jwt-key-file', jwks], { stdin: signDaprJwt({ sub: kid }, { key, kid }) })
    t.equal(result.code, 0, `${kid}: ${result.stderr}`)
    t.match(result.stdout, new RegExp(`^valid: JWT accepted; claims \\{"sub":"${kid}",`), kid)
  }
  const unknown = 'refused: Unknown Dapr API token key (FST_DAPR_TOKEN_UNKNOWN_KID): '
  const refusals: Array<[string, string]> = [
    ['zz', 'the token\'s kid "zz" is none of the file\'s ("e1", "r1")'],
    ['x1', 'the token\'s kid "x1" names a key in the file that cannot verify a signature: the JWK is not a signature key (`use`)'],
    ['k1', 'the token\'s kid "k1" names a key in the file that cannot verify a signature: the key type or curve is not supported'],
    ['a1', 'the token\'s kid "a1" names a key in the file that cannot verify a signature: its "alg" does not fit its key type']
  ]
  for (const [kid, reason] of refusals) {
    const token = signDaprJwt({}, { key: rsa.privateKey, kid })
    t.same(await cli(['verify', '--jwt-key-file', jwks], { stdin: token }), { code: 1, stdout: `${unknown}${reason}\n`, stderr: '' }, kid)
  }
  // As fromJwks picks it: a token without a kid takes the one key that fits its alg (r1 for RS256).
  const noKid = signDaprJwt({ sub: 'no kid' }, { key: rsa.privateKey })
  t.same(await cli(['verify', '--jwt-key-file', jwks], { stdin: noKid }), { code: 0, stdout: `valid: JWT accepted; claims ${JSON.stringify(decode(noKid).payload)}\n`, stderr: '' })
  // The default algorithms are those the keys imply, one each, as for a single key.
  const ps256 = signDaprJwt({}, { key: rsa.privateKey, kid: 'r1', algorithm: 'PS256' })
  t.same(await cli(['verify', '--jwt-key-file', jwks], { stdin: ps256 }), {
    code: 1, stdout: 'refused: Dapr API token algorithm not allowed (FST_DAPR_TOKEN_ALGORITHM): the token says alg "PS256"; allowed: ES256, RS256 by default (pass --alg to allow another the key fits)\n', stderr: ''
  })
  t.equal((await cli(['verify', '--jwt-key-file', jwks, '--alg', 'PS256'], { stdin: ps256 })).code, 0)
  // A set of one key without a kid: a token without a kid picks it; one with a kid does not, as with fromJwks.
  t.equal((await cli(['verify', '--jwt-key-file', join(dir, 'one.json')], { stdin: signDaprJwt({}, { key: ec.privateKey }) })).code, 0)
  t.same(await cli(['verify', '--jwt-key-file', join(dir, 'one.json')], { stdin: signDaprJwt({}, { key: ec.privateKey, kid: 'any' }) }), {
    code: 1, stdout: `${unknown}the token's kid "any" is none of the file's (1 without a kid)\n`, stderr: ''
  })
  const forged = signDaprJwt({}, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, kid: 'e1' })
  t.same(await cli(['verify', '--jwt-key-file', jwks], { stdin: forged }), { code: 1, stdout: 'refused: Invalid Dapr API token signature (FST_DAPR_TOKEN_BAD_SIGNATURE)\n', stderr: '' })
  t.match((await cli(['verify', '--help'])).stdout, /--jwt-key-file PATH {5}a PEM public key, a JWK as JSON, or a JWKS document \(\{"keys": \[\.\.\.\]\}\):\n {30}its key is picked by the token's kid/)
})

test('verify --jwt-key-file refuses a JWKS holding a private key, a secret, an entry that is not an object, or (without --alg) no usable key', async t => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const pub = publicKey.export({ format: 'jwk' })
  const sets: Array<[unknown[], string]> = [
    [[{ ...pub, kid: 'a' }, { ...privateKey.export({ format: 'jwk' }), kid: 'b' }], 'key 1 is a private key (publish only its public part)'],
    [[{ kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url'), kid: 's' }], 'key 0 is an HMAC secret (for one, use --jwt-secret-file)'],
    [['not-a-key'], 'key 0 is not a JWK (an object with a "kty")'],
    [[null], 'key 0 is not a JWK (an object with a "kty")'],
    [[{ ...pub, kid: 'a' }, ['kty', 'EC']], 'key 1 is not a JWK (an object with a "kty")'],
    [[], 'holds no key that can verify a signature'],
    [[{ ...pub, use: 'enc' }], 'holds no key that can verify a signature']
  ]
  const token = signDaprJwt({}, { key: privateKey, kid: 'a' })
  for (const [keys, message] of sets) {
    const dir = t.testdir({ 'jwks.json': JSON.stringify({ keys }) })
    const separator = message.startsWith(':') ? '' : message.startsWith('holds') ? ' ' : ': '
    t.same(await cli(['verify', '--jwt-key-file', join(dir, 'jwks.json')], { stdin: token }), {
      code: 2, stdout: '', stderr: `fastify-dapr-token-auth verify: the --jwt-key-file JWKS${separator}${message}\n` + HELP_HINT('verify')
    }, message)
  }
})

test('verify errors name this command\'s flags, not plugin options: --alg for algorithms, no allowHttp or headers hint', async t => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const dir = t.testdir({
    'public.pem': publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'jwks.json': JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] })
  })
  const token = signDaprJwt({}, { key: privateKey, kid: 'k1' })
  const cases: Array<[string[], string]> = [
    [['--jwks-url', 'http://example.com/jwks.json', '--alg', 'ES256'], 'Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must be https (http only on the loopback interface)'],
    [['--jwks-url', 'https://user:hunter2@example.com/jwks.json', '--alg', 'ES256'], 'Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must not carry credentials (not shown)'],
    [['--jwt-secret-env', 'S', '--alg', 'RS256'], 'Invalid fastify-dapr-token-auth options: `jwt.key` reads as no public key (PEM, SPKI, PKCS#1 or certificate DER as bytes, base64 or hex, or a JWK), so it would be an HMAC secret: say so with --alg HS256 (or HS384, HS512), or give the public key in one of those forms'],
    [['--jwt-key-file', join(dir, 'public.pem'), '--alg', 'HS256'], 'Invalid fastify-dapr-token-auth options: --alg HS256 cannot be verified with this public key (it fits ES256)'],
    [['--jwt-key-file', join(dir, 'jwks.json'), '--alg', 'HS256'], '--alg HS256: a JWKS holds public keys, which never verify an HMAC (HS*) token; name the algorithm(s) your issuer signs with, for example --alg RS256'],
    [['--jwks-url', 'https://127.0.0.1:1/jwks.json', '--alg', 'ES256', '--alg', 'HS512'], '--alg HS512: a JWKS holds public keys, which never verify an HMAC (HS*) token; name the algorithm(s) your issuer signs with, for example --alg RS256']
  ]
  for (const [args, message] of cases) {
    const result = await cli(['verify', ...args], { stdin: token, env: { S: 'jwt-secret-of-at-least-32-bytes!!' } })
    t.same(result, { code: 2, stdout: '', stderr: `fastify-dapr-token-auth verify: ${message}\n` + HELP_HINT('verify') }, args.join(' '))
    t.notMatch(result.stderr, /allowHttp|`headers`|algorithms: \[|hunter2/, 'no plugin option, no password')
  }
})

// Regression: `--jwks-url 'http://example.com/S3cret...'` or `'abc:S3cret...'` printed the value back.
test('verify --jwks-url never prints a secret in the URL\'s path or query, refused or out of reach', async t => {
  const secret = 'S3cretApiKey0123456789'
  const token = signDaprJwt({}, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, kid: 'k1' })
  const https = 'fastify-dapr-token-auth verify: Invalid fastify-dapr-token-auth options: fromJwks: a JWKS or issuer URL must be https (http only on the loopback interface)\n' + HELP_HINT('verify')
  for (const url of [`http://example.com/${secret}/jwks.json`, `http://example.com/jwks.json?api_key=${secret}`, `abc:${secret}`, `ftp://example.com/${secret}`]) {
    t.same(await cli(['verify', '--jwks-url', url, '--alg', 'ES256'], { stdin: token }), { code: 2, stdout: '', stderr: https }, 'refused for its scheme')
  }
  const closed = Fastify()
  const { port } = await listen(closed)
  await closed.close()
  const unreachable = await cli(['verify', '--jwks-url', `http://127.0.0.1:${port}/jwks.json?api_key=${secret}`, '--alg', 'ES256'], { stdin: token })
  t.same([unreachable.code, unreachable.stdout], [2, ''])
  t.match(unreachable.stderr, /^fastify-dapr-token-auth verify: the key source failed: .*\(cause: .*ECONNREFUSED\)\n/)
  t.notOk(unreachable.stderr.includes(secret), 'a loopback URL out of reach: not shown either')
})

// Regression: `sign` on a terminal said "use --file or --env", options it does not have.
test('on a terminal with nothing piped in, each command names its own options for its input', async t => {
  const cases: Array<[string[], string]> = [
    [['sign'], 'pipe the HMAC secret into standard input (for example `printenv JWT_SECRET | ...`), or use --secret-file or --secret-env (a private key: --key-file)'],
    [['sign', '--alg', 'HS512', '--kid', 'k1'], 'pipe the HMAC secret into standard input (for example `printenv JWT_SECRET | ...`), or use --secret-file or --secret-env (a private key: --key-file)'],
    [['fingerprint'], 'pipe the token into standard input (for example `printenv APP_API_TOKEN | ...`), or use --file or --env'],
    [['verify', '--expected-env', 'T'], 'pipe the token to verify into standard input (for example `printenv APP_API_TOKEN | ...`), or use --file or --env'],
    [['verify', '--jwt-secret-env', 'T'], 'pipe the token to verify into standard input (for example `printenv APP_API_TOKEN | ...`), or use --file or --env']
  ]
  for (const [argv, message] of cases) {
    t.same(await cli(argv, { tty: true, env: { T: 'jwt-secret-of-at-least-32-bytes!!' } }), {
      code: 2, stdout: '', stderr: `fastify-dapr-token-auth ${argv[0] as string}: ${message}\n` + HELP_HINT(argv[0] as string)
    }, argv.join(' '))
  }
})

test('verify --jwks-url: a token whose kid the endpoint does not have is refused as an unknown key', async t => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const server = Fastify()
  server.get('/jwks.json', async () => ({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }))
  t.teardown(() => server.close())
  const { url } = await listen(server)
  t.same(await cli(['verify', '--jwks-url', `${url}/jwks.json`, '--alg', 'ES256'], { stdin: signDaprJwt({}, { key: privateKey, kid: 'k2' }) }), {
    code: 1, stdout: 'refused: Unknown Dapr API token key (FST_DAPR_TOKEN_UNKNOWN_KID)\n', stderr: ''
  })
})
