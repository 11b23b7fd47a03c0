// Registering and editing samples of one's own biobank: donor by CPR, vocabularies, lineage, events, versioned edits.
import type { ServiceDeps } from './serviceDeps.ts'

export function createSampleService(_deps: ServiceDeps) {
  return {}
}

export type SampleService = ReturnType<typeof createSampleService>
