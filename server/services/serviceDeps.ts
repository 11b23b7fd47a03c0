// What every domain service may use. Created once in createServices and shared.
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { CprProtector } from '../domain/cprCrypto.ts'
import type { Database } from './database.ts'
import type { AuditService } from './auditService.ts'

export interface ServiceDeps {
  config: Config
  logger: Logger
  database: Database
  cpr: CprProtector
  audit: AuditService
}
