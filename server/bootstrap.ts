// Shared start-up for the server and the command-line tools: configuration, database, migrations, services.
import type { Config } from './config.ts'
import { createLogger, type Logger } from './logger.ts'
import { locateDatabase, createSequelize } from './db/database.ts'
import { migrate } from './db/migrator.ts'
import { createServices, type Services } from './services/index.ts'

export interface Runtime {
  services: Services
  /** Closes the pool, then stops the embedded cluster if this process started it. */
  shutdown(): Promise<void>
}

export async function bootstrap(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Runtime> {
  const location = await locateDatabase(config, (message) => logger.info(message))
  logger.info(`PostgreSQL: ${location.displayUrl}`)
  const sequelize = createSequelize(location.url, config.database.poolMax)
  const applied = await migrate(sequelize)
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations')
  const services = createServices(config, logger, sequelize)
  return {
    services,
    async shutdown() {
      await services.database.close()
      await location.stop()
    },
  }
}
