// Resolves which PostgreSQL to use (DATABASE_URL, else the embedded cluster) and opens the Sequelize pool.
import { Sequelize } from 'sequelize'
import pg from 'pg'
import type { Config } from '../config.ts'
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
}

export function createSequelize(url: string, poolMax: number, options: SequelizeOptions = {}): Sequelize {
  return new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    // Connections are kept warm: a new one pays for compiling the audit-chain trigger on its first insert.
    pool: { max: poolMax, min: Math.min(2, poolMax), idle: 60_000, acquire: 10_000 },
    define: { underscored: true, freezeTableName: true },
    // keepAlive: a connection whose network silently went away is noticed and replaced, not waited on forever.
    dialectOptions: { application_name: 'biobank-registry', keepAlive: true, ...(options.asAppRole ? { options: `-c role=${APP_ROLE}` } : {}) },
  })
}
