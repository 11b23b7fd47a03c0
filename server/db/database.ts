// Resolves which PostgreSQL to use (DATABASE_URL, else the embedded cluster) and opens the Sequelize pool.
import { Sequelize } from 'sequelize'
import pg from 'pg'
import { DEFAULT_DATABASE_TIMEOUTS, type Config, type DatabaseTimeouts } from '../config.ts'
import { boundedClientClass, resetQueryTimeout } from './boundedClient.ts'
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embeddedPostgres.ts'

// Return bigint ids and counts as JavaScript strings would be surprising; they fit in a double for our scale.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value))

export interface DatabaseLocation {
  url: string
  displayUrl: string
  stop(): Promise<void>
}

function withoutPassword(url: string): string {
  const parsed = new URL(url)
  parsed.password = ''
  return parsed.toString()
}

export async function locateDatabase(config: Config, info?: (message: string) => void): Promise<DatabaseLocation> {
  if (config.database.url) return { url: config.database.url, displayUrl: withoutPassword(config.database.url), stop: async () => undefined }
  const handle: EmbeddedPostgresHandle = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.database.embeddedPort,
    password: config.secrets.embeddedPostgresPassword,
    database: config.database.name,
    info,
  })
  return handle
}

/**
 * The role the web app works as (created by the audit-chain migration): it may not UPDATE or DELETE audit,
 * sample or opt-out events. Migrations and the operator's command-line tools connect as the owner.
 */
export const APP_ROLE = 'registry_app'

export interface SequelizeOptions {
  /** Work as APP_ROLE on every connection (SET ROLE through the startup options). */
  asAppRole?: boolean
  /** How long anything may wait on the database; unset values are the defaults of server/config.ts. */
  timeouts?: Partial<DatabaseTimeouts>
}

/** The operator's tools (migrations, seeding, the import command) run as the owner and may take their time. */
export function bulkTimeouts(timeouts: DatabaseTimeouts): DatabaseTimeouts {
  return { ...timeouts, queryMs: timeouts.bulkQueryMs }
}

const timeoutsBySequelize = new WeakMap<Sequelize, DatabaseTimeouts>()

/** The limits a Sequelize instance was created with (the defaults for one not made by createSequelize). */
export function timeoutsOf(sequelize: Sequelize): DatabaseTimeouts {
  return timeoutsBySequelize.get(sequelize) ?? DEFAULT_DATABASE_TIMEOUTS
}

/** The pg client class of a Sequelize instance's connections, for a plain pg pool that should behave the same. */
export function clientClassOf(sequelize: Sequelize): typeof pg.Client {
  const dialectModule = (sequelize as unknown as { options: { dialectModule?: { Client?: typeof pg.Client } } }).options.dialectModule
  return dialectModule?.Client ?? pg.Client
}

export function createSequelize(url: string, poolMax: number, options: SequelizeOptions = {}): Sequelize {
  const timeouts = { ...DEFAULT_DATABASE_TIMEOUTS, ...options.timeouts }
  const Client = boundedClientClass({ queryMs: timeouts.queryMs, bulkQueryMs: timeouts.bulkQueryMs, keepAliveMs: timeouts.keepAliveMs })
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    // pg itself, with a client that gives every statement a deadline (server/db/boundedClient.ts).
    dialectModule: Object.assign(Object.create(pg) as typeof pg, { Client }),
    logging: false,
    // Connections are kept warm: a new one pays for compiling the audit-chain trigger on its first insert.
    pool: { max: poolMax, min: Math.min(2, poolMax), idle: 60_000, acquire: timeouts.acquireMs },
    define: { underscored: true, freezeTableName: true },
    // keepAlive: a connection whose network silently went away is noticed and replaced, not waited on forever.
    dialectOptions: {
      application_name: 'biobank-registry',
      keepAlive: true,
      connectionTimeoutMillis: timeouts.connectMs,
      ...(options.asAppRole ? { options: `-c role=${APP_ROLE}` } : {}),
    },
  })
  // A connection handed out again starts with the default limit, whatever its previous holder allowed itself.
  sequelize.addHook('afterPoolAcquire', (connection) => resetQueryTimeout(connection))
  timeoutsBySequelize.set(sequelize, timeouts)
  return sequelize
}
