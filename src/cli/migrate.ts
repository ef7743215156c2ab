import { openRuntime } from './runtime.ts'

export async function migrateCommand (): Promise<void> {
  const { db, applied } = await openRuntime()
  await db.close()
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Database is up to date.')
}
