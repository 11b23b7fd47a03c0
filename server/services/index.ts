// Services are created once and handed to the app, so tests can pass real services on a test database.
import type { Sequelize } from 'sequelize'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { createCprProtector, type CprProtector } from '../domain/cprCrypto.ts'
import { createDatabase, type Database } from './database.ts'
import { createAuditSearch, createAuditService, type AuditSearch, type AuditService } from './auditService.ts'
import { createAuthService, type AuthService } from './authService.ts'
import type { ServiceDeps } from './serviceDeps.ts'
import { createCitizenService, type CitizenService } from './citizenService.ts'
import { createOptOutService, type OptOutService } from './optOutService.ts'
import { createSampleService, type SampleService } from './sampleService.ts'
import { createSearchService, type SearchService } from './searchService.ts'
import { createImportService, type ImportService } from './importService.ts'
import { createExportService, type ExportService } from './exportService.ts'
import { createDashboardService, type DashboardService } from './dashboardService.ts'
import { createLabelService, type LabelService } from './labelService.ts'
import { createEligibilityService, type EligibilityService } from './eligibilityService.ts'
import { createApiClientService, type ApiClientService } from './apiClientService.ts'

export interface Services {
  config: Config
  logger: Logger
  database: Database
  cpr: CprProtector
  audit: AuditService
  auditSearch: AuditSearch
  auth: AuthService
  citizen: CitizenService
  optOuts: OptOutService
  samples: SampleService
  search: SearchService
  imports: ImportService
  exports: ExportService
  dashboard: DashboardService
  labels: LabelService
  eligibility: EligibilityService
  apiClients: ApiClientService
}

export function createServices(config: Config, logger: Logger, sequelize: Sequelize): Services {
  const database = createDatabase(sequelize)
  const cpr = createCprProtector({ hmacKey: config.secrets.cprHmacKey, encryptionKey: config.secrets.cprEncryptionKey })
  const audit = createAuditService(database)
  const deps: ServiceDeps = { config, logger, database, cpr, audit }
  const auth = createAuthService({ auth: config.auth, database, cpr, audit })
  const optOuts = createOptOutService(deps)
  return {
    ...deps,
    auth,
    auditSearch: createAuditSearch(database, audit),
    citizen: createCitizenService(deps),
    optOuts,
    samples: createSampleService(deps),
    search: createSearchService(deps),
    imports: createImportService(deps),
    exports: createExportService(deps),
    dashboard: createDashboardService(deps),
    labels: createLabelService(deps),
    eligibility: createEligibilityService(deps),
    apiClients: createApiClientService(deps),
  }
}
