import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * A Secret volume laid out and updated the way the kubelet's atomic writer does it:
 * `..<timestamp>/` holds the files, `..data` links to it, each visible file links into `..data/`,
 * and an update writes a new timestamped dir, points `..data_tmp` at it, renames that onto `..data`
 * (the one atomic step) and removes the old dir.
 */
export class SecretVolume {
  private generation = 0
  private current: string | null = null

  constructor (readonly dir: string) {}

  /** Writes `files` as the volume's new content. */
  async write (files: Record<string, string>): Promise<void> {
    const stamp = `..2026_12_03_17_00_${String(this.generation++).padStart(2, '0')}.${process.hrtime.bigint()}`
    await mkdir(join(this.dir, stamp))
    for (const [name, content] of Object.entries(files)) await writeFile(join(this.dir, stamp, name), content)
    await symlink(stamp, join(this.dir, '..data_tmp'))
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'))
    for (const name of Object.keys(files)) {
      await symlink(join('..data', name), join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error
      })
    }
    if (this.current !== null) await rm(join(this.dir, this.current), { recursive: true, force: true })
    this.current = stamp
  }
}
