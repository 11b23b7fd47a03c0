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

export function createSequelize(url: string, poolMax: number): Sequelize {
  return new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    pool: { max: poolMax, min: 0, idle: 10_000, acquire: 10_000 },
    define: { underscored: true, freezeTableName: true },
    dialectOptions: { application_name: 'biobank-registry' },
  })
}
