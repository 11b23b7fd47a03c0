// Exports of a search result or a whole biobank: MIABIS-aligned CSV and FHIR R4 Specimen bundles, streamed.
import type { ServiceDeps } from './serviceDeps.ts'

export function createExportService(_deps: ServiceDeps) {
  return {}
}

export type ExportService = ReturnType<typeof createExportService>
