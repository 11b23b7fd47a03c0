import type { ServiceDeps } from './serviceDeps.ts'

export function createCitizenService(_deps: ServiceDeps) {
  return {}
}

export type CitizenService = ReturnType<typeof createCitizenService>
