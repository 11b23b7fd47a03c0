// Starts the real app on a free loopback port over a fresh test database, with real services.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { createApp } from '../../server/app.ts'
import { createLogger } from '../../server/logger.ts'
import { createSequelize } from '../../server/db/database.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import { createTestDatabase, testConfig } from './testDatabase.ts'

/** Every log line of the whole test run, so a test can prove that no CPR number was ever logged. */
export const capturedLogLines: string[] = []

export function captureLogger(level = 'info') {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      capturedLogLines.push(chunk.toString('utf8'))
      done()
    },
  })
  return createLogger(level, sink)
}

export interface TestApp {
  baseUrl: string
  services: Services
  server: http.Server
  close(): Promise<void>
}

export async function startTestApp(environment: Record<string, string> = {}): Promise<TestApp> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const baseUrl = `http://127.0.0.1:${port}`
  const databaseUrl = await createTestDatabase()
  const config = testConfig({ BASE_URL: baseUrl, DATABASE_URL: databaseUrl, PORT: String(port), ...environment })
  // The app works as the restricted app role, exactly as in production.
  const sequelize = createSequelize(databaseUrl, 5, { asAppRole: true })
  const services = createServices(config, captureLogger(), sequelize)
  server.on('request', createApp(services))
  return {
    baseUrl,
    services,
    server,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await services.database.close()
    },
  }
}
