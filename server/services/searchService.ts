// Finding samples: by label, donor CPR (audited), material, dates, biobank, availability; keyset pagination.
import type { ServiceDeps } from './serviceDeps.ts'

export function createSearchService(_deps: ServiceDeps) {
  return {}
}

export type SearchService = ReturnType<typeof createSearchService>
