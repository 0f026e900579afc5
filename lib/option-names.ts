/**
 * Refuses an options object with a name that is not one of `known`, through the caller's `fail`
 * (each throws `FST_DAPR_TOKEN_OPTIONS` in its own words). A misspelt option would otherwise be
 * ignored in silence, leaving a default in force: the env var instead of the intended tokens, no
 * `aud` check instead of `audience`, HS256 instead of `algorithms`. Plain JavaScript and options
 * built at run time get no help from the types.
 *
 * `where` prefixes the names in the message (`jwt.`); `also` are names read by someone else from
 * the same object (Fastify's `register()` options), accepted but never suggested.
 */
export function checkOptionNames (options: object, known: readonly string[], fail: (message: string) => never, where = '', also?: ReadonlySet<string>): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name) || also?.has(name) === true) continue
    const near = known.find(candidate => candidate.toLowerCase().startsWith(name.toLowerCase().slice(0, 4)))
    fail(`unknown option \`${where}${name}\`${near === undefined ? '' : ` (did you mean \`${where}${near}\`?)`}; the options are ${known.map(candidate => `\`${where}${candidate}\``).join(', ')}`)
  }
}
