// The whole demo data set as values: the demo citizens' story first, then the further fictitious donors.
import { demoCitizens } from './demoPeople.ts'
import { buildCitizenPlan } from './demoSamples.ts'
import { buildFurtherPlan } from './demoFurther.ts'
import type { DemoPlan } from './plan.ts'
import { StorageAllocator } from './sampleProfiles.ts'

export function buildDemoPlan(): DemoPlan {
  const allocator = new StorageAllocator()
  const citizens = buildCitizenPlan(allocator)
  const further = buildFurtherPlan(allocator, new Set(demoCitizens.map((c) => c.cpr)))
  return {
    donors: [...citizens.donors, ...further.donors],
    samples: [...citizens.samples, ...further.samples],
    optOuts: [...citizens.optOuts, ...further.optOuts],
    custody: [...citizens.custody, ...further.custody],
  }
}
