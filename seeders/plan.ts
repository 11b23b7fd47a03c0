// The demo data as plain values, before any database is involved: donors by CPR, samples with their parent by key,
// events, opt-outs and custody. writePlan.ts stores it.
import type {
  Availability,
  BiobankCode,
  Lineage,
  MaterialType,
  OptOutChoice,
  QuantityUnit,
  SampleEventType,
  StorageTemperature,
} from '../server/domain/vocabulary.ts'

export interface PlannedDonor {
  /** Demo user id (anne, bo …) or a generated key. */
  key: string
  cpr: string
}

export interface PlannedEvent {
  type: SampleEventType
  at: Date
  details: Record<string, unknown>
}

export interface PlannedSample {
  key: string
  donor: string
  biobank: BiobankCode
  label: string
  material: MaterialType
  collectedAt: Date
  temperature: StorageTemperature
  lineage: Lineage
  /** Key of an earlier sample of the same donor; set exactly when lineage is not primary. */
  parent: string | null
  quantity: string | null
  unit: QuantityUnit | null
  location: string | null
  sprec: string | null
  diagnosis: string | null
  availability: Availability
  events: PlannedEvent[]
}

export interface PlannedOptOutEvent {
  choice: OptOutChoice
  optedOut: boolean
  at: Date
}

export interface PlannedOptOut {
  donor: string
  /** In order; the current state is what the last event of each choice says. */
  events: PlannedOptOutEvent[]
}

export interface PlannedCustody {
  parentCpr: string
  child: string
  /** As the CPR register supplies it with the custody. */
  childName: string
}

export interface DemoPlan {
  donors: PlannedDonor[]
  samples: PlannedSample[]
  optOuts: PlannedOptOut[]
  custody: PlannedCustody[]
}

/** A UTC instant from an ISO string without zone (`2024-03-12T08:40`). */
export function utc(iso: string): Date {
  const date = new Date(`${iso}Z`)
  if (Number.isNaN(date.getTime())) throw new RangeError(`bad demo date ${iso}`)
  return date
}

export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

export function addHours(date: Date, hours: number): Date {
  return new Date(date.getTime() + hours * HOUR_MS)
}
