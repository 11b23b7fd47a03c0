// Services are created once and handed to the app, so tests can pass real services on a test database.
import type { Sequelize } from 'sequelize'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { createCprProtector, type CprProtector } from '../domain/cprCrypto.ts'
import { createDatabase, type Database } from './database.ts'
import { createAuditService, type AuditService } from './auditService.ts'
import { createAuthService, type AuthService } from './authService.ts'

export interface Services {
  config: Config
  logger: Logger
  database: Database
  cpr: CprProtector
  audit: AuditService
  auth: AuthService
}

export function createServices(config: Config, logger: Logger, sequelize: Sequelize): Services {
  const database = createDatabase(sequelize)
  const cpr = createCprProtector({ hmacKey: config.secrets.cprHmacKey, encryptionKey: config.secrets.cprEncryptionKey })
  const audit = createAuditService(database)
  const auth = createAuthService({ auth: config.auth, database, cpr, audit })
  return { config, logger, database, cpr, audit, auth }
}
