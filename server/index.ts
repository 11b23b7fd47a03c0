// `npm start`: configuration, database (embedded unless DATABASE_URL), migrations, demo data, then the web server.
import http from 'node:http'
import { loadConfigFromEnvironment } from './config.ts'
import { createLogger } from './logger.ts'
import { bootstrap } from './bootstrap.ts'
import { createApp } from './app.ts'
import { seedDemoDataIfEmpty } from '../seeders/index.ts'
import { failAndExit } from './cli/fail.ts'

try {
  const config = loadConfigFromEnvironment()
  const logger = createLogger(config.logLevel)
  const runtime = await bootstrap(config, logger, {
    asAppRole: true,
    prepare: async (owner) => {
      if (config.seedDemoData && (await seedDemoDataIfEmpty(owner))) logger.info('loaded demo data')
    },
  })

  const server = http.createServer(createApp(runtime.services))
  server.listen(config.port, config.host, () => logger.info(`biobank-registry listening on ${config.baseUrl}`))
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') console.error(`biobank-registry: port ${config.port} is already in use; set PORT to a free port.`)
    else console.error(error)
    void runtime.shutdown().finally(() => process.exit(1))
  })

  // SIGTERM/SIGINT: stop taking connections, let in-flight requests finish, then close the pool.
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info(`${signal}: draining`)
    server.close(() => void runtime.shutdown().then(() => process.exit(0)))
    server.closeIdleConnections()
    setTimeout(() => process.exit(1), 10_000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
} catch (error) {
  failAndExit(error)
}
