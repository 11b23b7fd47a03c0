// Shared start-up for the server and the command-line tools: configuration, database, migrations, services.
import type { Config } from './config.ts'
import { createLogger, type Logger } from './logger.ts'
import { locateDatabase, createSequelize, bulkTimeouts } from './db/database.ts'
import { migrate } from './db/migrator.ts'
import { createServices, type Services } from './services/index.ts'

export interface Runtime {
  services: Services
  /** Lets background work end, closes the pool, then stops the embedded cluster if this process started it. */
  shutdown(): Promise<void>
}

export interface BootstrapOptions {
  /** The web server works as the restricted app role; the operator's tools (seed, import) as the owner. */
  asAppRole?: boolean
  /** Runs as the owner after the migrations and before the app role takes over (e.g. loading the demo data). */
  prepare?: (ownerServices: Services) => Promise<void>
}

export async function bootstrap(config: Config, logger: Logger = createLogger(config.logLevel), options: BootstrapOptions = {}): Promise<Runtime> {
  const location = await locateDatabase(config, (message) => logger.info(message))
  logger.info(`PostgreSQL: ${location.displayUrl}`)
  // The owner runs migrations, seeding and the operator's tools, whose statements may take minutes: the bulk limit.
  const owner = createSequelize(location.url, config.database.poolMax, { timeouts: bulkTimeouts(config.database.timeouts) })
  const applied = await migrate(owner)
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations')
  let services = createServices(config, logger, owner)
  await options.prepare?.(services)
  if (options.asAppRole) {
    await services.database.close()
    services = createServices(config, logger, createSequelize(location.url, config.database.poolMax, { asAppRole: true, timeouts: config.database.timeouts }))
  }
  return {
    services,
    async shutdown() {
      // A check's indexing for the citizen's log runs after its commit; cut off, it would wait for the next check.
      await services.eligibility.indexingDone()
      await services.database.close()
      await location.stop()
    },
  }
}
