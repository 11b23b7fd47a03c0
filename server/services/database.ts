// The database handle the rest of the app is given: the Sequelize pool and models for the domain, a plain pg
// pool for sessions and bulk COPY, and a readiness probe.
import pg from 'pg'
import type { Sequelize } from 'sequelize'
import { initModels, type Models } from '../../models/index.ts'
import { clientClassOf, timeoutsOf } from '../db/database.ts'
import { probe, resetQueryTimeout } from '../db/boundedClient.ts'

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
  const timeouts = timeoutsOf(sequelize)
  const pool = new pg.Pool({
    // The same client as Sequelize's: every statement has a deadline, so a cut network fails requests, not hangs them.
    Client: clientClassOf(sequelize),
    host,
    port: Number(port),
    database,
    user: username,
    password: password ?? undefined,
    // Sessions are read on every request: this pool must keep up with the request concurrency, like Sequelize's.
    max: Math.max(4, (sequelize.config.pool as { max?: number } | undefined)?.max ?? 10),
    // Bounds both waiting for a free connection and opening a new one.
    connectionTimeoutMillis: timeouts.connectMs,
    application_name: 'biobank-registry',
    keepAlive: true,
    ...(options ? { options } : {}),
  })
  // A broken idle connection (database restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined)
  // A client handed out again starts with the default limit, whatever its previous holder allowed itself.
  pool.on('acquire', (client) => resetQueryTimeout(client))
  return {
    sequelize,
    models,
    pool,
    async isReady() {
      // A cut network can leave a query unanswered for minutes; readiness answers within readyMs either way. The probe
      // gives its statement the same short limit, so a dead connection it meets is destroyed, not kept busy.
      const manager = sequelize.connectionManager as unknown as { getConnection(options?: object): Promise<unknown>; releaseConnection(connection: unknown): void }
      const check = (async () => {
        const connection = await manager.getConnection({ type: 'SELECT' })
        try {
          await probe(connection, timeouts.readyMs)
          return true
        } finally {
          manager.releaseConnection(connection)
        }
      })().catch(() => false)
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeouts.readyMs)))
      try {
        return await Promise.race([check, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
    async close() {
      await Promise.all([sequelize.close(), pool.end()])
    },
  }
}
