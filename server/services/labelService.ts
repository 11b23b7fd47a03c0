// Printable label sheets with a barcode of each sample label.
import type { ServiceDeps } from './serviceDeps.ts'

export function createLabelService(_deps: ServiceDeps) {
  return {}
}

export type LabelService = ReturnType<typeof createLabelService>
