#!/usr/bin/env node
// The `fastify-dapr-token-auth` command. Everything lives in ./index.ts, tested in-process; this
// file only starts it.
import { main } from './index.js'

main().catch(() => { process.exitCode = 2 })
