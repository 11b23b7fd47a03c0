// The staff dashboard: counts by material type, temperature, availability, region, and the opt-out share.
import type { ServiceDeps } from './serviceDeps.ts'

export function createDashboardService(_deps: ServiceDeps) {
  return {}
}

export type DashboardService = ReturnType<typeof createDashboardService>
