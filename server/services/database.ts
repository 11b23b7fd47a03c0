// The database handle the rest of the app is given: the Sequelize pool and models for the domain, a plain pg
// pool for sessions and bulk COPY, and a readiness probe.
import pg from 'pg'
import type { Sequelize } from 'sequelize'
import { initModels, type Models } from '../../models/index.ts'

export interface Database {
  sequelize: Sequelize
  models: Models
  pool: pg.Pool
  isReady(): Promise<boolean>
  close(): Promise<void>
}

export function createDatabase(sequelize: Sequelize): Database {
  const models = initModels(sequelize)
  const { host, port, database, username, password } = sequelize.config
  // The plain pool works as the same role as Sequelize (the app role for the web app).
  const { options } = ((sequelize as unknown as { options: { dialectOptions?: { options?: string } } }).options.dialectOptions ?? {})
  const pool = new pg.Pool({
    host,
    port: Number(port),
    database,
    user: username,
    password: password ?? undefined,
    // Sessions are read on every request: this pool must keep up with the request concurrency, like Sequelize's.
    max: Math.max(4, (sequelize.config.pool as { max?: number } | undefined)?.max ?? 10),
    connectionTimeoutMillis: 5000,
    application_name: 'biobank-registry',
    keepAlive: true,
    ...(options ? { options } : {}),
  })
  // A broken idle connection (database restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined)
  return {
    sequelize,
    models,
    pool,
    async isReady() {
      // A cut network can leave a query unanswered for minutes; readiness answers within 2 s either way.
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000)))
      try {
        return await Promise.race([sequelize.query('select 1').then(() => true), timeout])
      } catch {
        return false
      } finally {
        clearTimeout(timer)
      }
    },
    async close() {
      await Promise.all([sequelize.close(), pool.end()])
    },
  }
}
