import type { ServiceDeps } from './serviceDeps.ts'

export function createOptOutService(_deps: ServiceDeps) {
  return {}
}

export type OptOutService = ReturnType<typeof createOptOutService>
