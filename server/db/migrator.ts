// Schema migrations: umzug over Sequelize's query interface, one file per change in migrations/.
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Umzug, SequelizeStorage, type MigrationFn } from 'umzug'
import type { QueryInterface, Sequelize } from 'sequelize'
import { projectRoot } from '../config.ts'

export type Migration = MigrationFn<QueryInterface>

/** Any number above zero; it only has to be the same in every process that migrates this database. */
const MIGRATION_LOCK_ID = 7_204_511

export function createMigrator(sequelize: Sequelize) {
  return new Umzug<QueryInterface>({
    migrations: {
      glob: ['migrations/*.ts', { cwd: projectRoot }],
      resolve: ({ name, path: file, context }) => {
        const load = async () => (await import(pathToFileURL(path.resolve(file!)).href)) as { up: Migration; down?: Migration }
        return {
          name: name.replace(/\.ts$/, ''),
          up: async (params) => (await load()).up({ ...params, context }),
          down: async (params) => (await load()).down?.({ ...params, context }),
        }
      },
    },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  })
}

/** Applies pending migrations; an advisory lock lets two processes start at once without racing. */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('select pg_advisory_xact_lock(:id)', { replacements: { id: MIGRATION_LOCK_ID }, transaction })
    const applied = await createMigrator(sequelize).up()
    return applied.map((m) => m.name)
  })
}
