import { access, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PocketsphinxModel } from './pocketsphinx.batch.ts'

export const POCKETSPHINX_MODEL_ROOT = '/usr/share/pocketsphinx/model'

const exists = (path: string) => access(path).then(() => true, () => false)

/**
 * The models installed as Debian lays them out: `<root>/<name>/<name>/mdef` (acoustic model),
 * `<root>/<name>/<name>.lm.bin` and a `.dict` beside it (`en-us` from pocketsphinx-en-us).
 */
export async function findModels (root: string): Promise<PocketsphinxModel[]> {
  const names = await readdir(root).catch(() => [] as string[])
  const models: PocketsphinxModel[] = []
  for (const name of names.sort()) {
    const dir = join(root, name)
    const files = await readdir(dir).catch(() => [] as string[])
    const dict = files.find((f) => f === `cmudict-${name}.dict`) ?? files.find((f) => f.endsWith('.dict'))
    const hmm = join(dir, name)
    const lm = join(dir, `${name}.lm.bin`)
    if (dict && await exists(join(hmm, 'mdef')) && await exists(lm)) {
      models.push({ language: name.split('-')[0] ?? name, name, hmm, lm, dict: join(dir, dict) })
    }
  }
  return models
}
