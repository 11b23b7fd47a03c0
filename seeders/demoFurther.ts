// The demo's crowd: ~40 further fictitious donors with a few hundred samples across all regions and material types,
// from a seeded PRNG so every run produces the same data.
import type { BiobankCode, MaterialType } from '../server/domain/vocabulary.ts'
import { BIOBANK_CODES } from '../server/domain/vocabulary.ts'
import { createFurtherDonorCpr } from './fictitiousCpr.ts'
import { addHours, DAY_MS, utc, type DemoPlan, type PlannedEvent, type PlannedOptOut, type PlannedSample } from './plan.ts'
import { Rng } from './random.ts'
import {
  availabilityFor,
  biobankWeights,
  diagnosisFor,
  isStored,
  primaryMaterialWeights,
  profileOf,
  quantityFor,
  sprecFor,
  temperatureFor,
  type StorageAllocator,
} from './sampleProfiles.ts'

export const FURTHER_DONORS = 40
export const FURTHER_SAMPLES = 300
const SEED = 20_261_126

const FIRST_COLLECTION = utc('2006-01-01T00:00')
const LAST_COLLECTION = utc('2026-06-30T00:00')
/** Nothing in the demo data happens later than this, so it is in the past whenever the demo is loaded. */
const LAST_EVENT = utc('2026-09-30T00:00')

const departments: Record<BiobankCode, readonly string[]> = {
  RH: ['Klinisk Biokemisk Afdeling, Rigshospitalet', 'Patologiafdelingen, Herlev Hospital', 'Hæmatologisk Klinik, Rigshospitalet', 'Medicinsk Afdeling, Bispebjerg Hospital'],
  RSJ: ['Klinisk Biokemisk Afdeling, Sjællands Universitetshospital', 'Patologisk Afdeling, Næstved Sygehus', 'Medicinsk Afdeling, Holbæk Sygehus'],
  RSD: ['Klinisk Biokemisk Afdeling, Odense Universitetshospital', 'Patologisk Afdeling, Sygehus Lillebælt', 'Onkologisk Afdeling, Esbjerg Sygehus'],
  RM: ['Klinisk Biokemi, Aarhus Universitetshospital', 'Patologi, Regionshospitalet Gødstrup', 'Blodprøver og Biokemi, Regionshospitalet Randers'],
  RN: ['Klinisk Biokemi, Aalborg Universitetshospital', 'Patologisk Institut, Aalborg Universitetshospital', 'Medicinsk Afdeling, Regionshospital Nordjylland'],
}

const procedures: Partial<Record<MaterialType, string>> = {
  plasma: 'Centrifugering (2000 g, 10 min)',
  serum: 'Koagulering og centrifugering',
  'buffy-coat': 'Centrifugering; buffy coat udtaget',
  dna: 'DNA-ekstraktion',
  rna: 'RNA-ekstraktion',
  'cell-line': 'Immortalisering (EBV)',
}

const projects = [
  ['Forskningsprojekt om type 2-diabetes, Steno Diabetes Center', 'RP-2024-031'],
  ['Kohortestudie om brystkræft, Kræftens Bekæmpelse', 'RP-2023-112'],
  ['Genomstudie om hjertesygdom, Aarhus Universitet', 'RP-2025-008'],
] as const

const two = (n: number) => String(n).padStart(2, '0')

function between(rng: Rng, from: Date, to: Date): Date {
  return new Date(from.getTime() + Math.floor(rng.next() * Math.max(0, to.getTime() - from.getTime())))
}

/** Working hours (UTC) on a random day between the two dates. */
function collectionTime(rng: Rng, from: Date, to: Date): Date {
  const day = Math.floor(between(rng, from, to).getTime() / DAY_MS) * DAY_MS
  return new Date(day + rng.int(6 * 60, 14 * 60) * 60_000)
}

function eventsOf(rng: Rng, sample: PlannedSample, parent: PlannedSample | undefined): PlannedEvent[] {
  const events: PlannedEvent[] = []
  let t = sample.collectedAt
  if (parent) {
    t = addHours(t, rng.int(2, 48))
    events.push({ type: 'processed', at: t, details: { procedure: procedures[sample.material] ?? 'Alikvotering', source: parent.label } })
  } else {
    events.push({ type: 'collected', at: t, details: { department: rng.pick(departments[sample.biobank]) } })
    t = addHours(t, rng.int(1, 6))
    events.push({ type: 'received', at: t, details: { biobank: sample.biobank } })
  }
  const frozen = sample.temperature !== 'rt' && sample.temperature !== '2to10'
  const later = () => (t = between(rng, addHours(t, 24), LAST_EVENT))
  if (frozen) {
    const firstPlace = sample.location && rng.chance(0.3) ? sample.location.replace(/^([A-Z0-9]+)-\d+\//, `$1-${rng.int(90, 99)}/`) : sample.location
    t = addHours(t, 1)
    events.push({ type: 'frozen', at: t, details: { temperature: sample.temperature, location: firstPlace } })
    if (firstPlace !== sample.location) events.push({ type: 'moved', at: later(), details: { from: firstPlace, to: sample.location } })
  }
  switch (sample.availability) {
    case 'reserved':
      events.push({ type: 'availability_changed', at: later(), details: { from: 'available', to: 'reserved' } })
      break
    case 'distributed': {
      const [to, reference] = rng.pick(projects)
      events.push({ type: 'distributed', at: later(), details: { to, reference } })
      break
    }
    case 'depleted':
      if (frozen) events.push({ type: 'thawed', at: later(), details: { reason: 'Analyse' } })
      events.push({ type: 'availability_changed', at: later(), details: { from: 'available', to: 'depleted' } })
      break
    case 'destroyed':
      events.push({ type: 'destroyed', at: later(), details: { reason: rng.pick(['Opbevaringstiden udløbet', 'Kvalitetsafvigelse', 'Beholder beskadiget']) } })
      break
    case 'available':
      break
  }
  return events
}

/** Deterministic given `taken` (the demo citizens' CPR numbers, which the generated ones avoid). */
export function buildFurtherPlan(allocate: StorageAllocator, taken: ReadonlySet<string>): DemoPlan {
  const rng = new Rng(SEED)
  const used = new Set(taken)
  const plan: DemoPlan = { donors: [], samples: [], optOuts: [], custody: [] }
  const adults: string[] = []

  // Every donor has at least one sample; the rest are spread with uneven weights (some people have many).
  const weights = Array.from({ length: FURTHER_DONORS }, () => rng.next() ** 2)
  const counts = weights.map(() => 1)
  for (let i = FURTHER_DONORS; i < FURTHER_SAMPLES; i++) counts[rng.weighted(weights.map((w, d) => [d, w] as const))]! += 1

  const nextLabel = new Map<string, number>()
  const labelFor = (biobank: BiobankCode, year: number) => {
    const key = `${biobank}-${year}`
    const n = (nextLabel.get(key) ?? rng.int(1000, 6000)) + rng.int(1, 40)
    nextLabel.set(key, n)
    return `${key}-${String(n).padStart(6, '0')}`
  }

  for (let d = 0; d < FURTHER_DONORS; d++) {
    const key = `donor-${two(d + 1)}`
    const { cpr, birthDate } = createFurtherDonorCpr(rng, utc('1930-01-01T00:00'), utc('2020-12-31T00:00'), used)
    plan.donors.push({ key, cpr })
    if (birthDate.getUTCFullYear() < 2000) adults.push(key)
    const home = rng.weighted(biobankWeights)
    const own: PlannedSample[] = []
    const children = new Map<string, number>()
    for (let s = 0; s < counts[d]!; s++) {
      const parent = own.length > 0 && rng.chance(0.25) ? rng.pick(own) : undefined
      let sample: PlannedSample
      if (parent) {
        const derivatives = profileOf(parent.material).derivatives
        const derivative = derivatives.length > 0 && rng.chance(0.6)
        const material = derivative ? rng.pick(derivatives) : parent.material
        const n = (children.get(parent.key) ?? 0) + 1
        children.set(parent.key, n)
        sample = {
          key: `${key}-s${s + 1}`,
          donor: key,
          biobank: parent.biobank,
          label: `${parent.label}-${two(n)}`,
          material,
          collectedAt: parent.collectedAt,
          temperature: temperatureFor(rng, material),
          lineage: derivative ? 'derivative' : 'aliquot',
          parent: parent.key,
          quantity: null,
          unit: null,
          location: null,
          sprec: sprecFor(rng, material),
          diagnosis: parent.diagnosis,
          availability: availabilityFor(rng),
          events: [],
        }
      } else {
        const biobank = rng.chance(0.85) ? home : rng.pick(BIOBANK_CODES.filter((c) => c !== home))
        const material = rng.weighted(primaryMaterialWeights)
        const collectedAt = collectionTime(rng, new Date(Math.max(birthDate.getTime(), FIRST_COLLECTION.getTime())), LAST_COLLECTION)
        sample = {
          key: `${key}-s${s + 1}`,
          donor: key,
          biobank,
          label: labelFor(biobank, collectedAt.getUTCFullYear()),
          material,
          collectedAt,
          temperature: temperatureFor(rng, material),
          lineage: 'primary',
          parent: null,
          quantity: null,
          unit: null,
          location: null,
          sprec: sprecFor(rng, material),
          diagnosis: diagnosisFor(rng),
          availability: availabilityFor(rng),
          events: [],
        }
      }
      const amount = rng.chance(0.9) ? quantityFor(rng, sample.material) : undefined
      sample.quantity = amount?.quantity ?? null
      sample.unit = amount?.quantityUnit ?? null
      if (isStored(sample.availability)) sample.location = allocate.allocate(sample.biobank, sample.temperature)
      sample.events = eventsOf(rng, sample, parent)
      own.push(sample)
      plan.samples.push(sample)
    }
  }

  // About 3 % opted out: one adult of the material choice only, one of the genetic choice (who changed her mind once).
  const optOuts: PlannedOptOut[] = [
    { donor: adults[3]!, events: [{ choice: 'material', optedOut: true, at: utc('2024-05-06T20:14:03') }] },
    {
      donor: adults[11]!,
      events: [
        { choice: 'genetic', optedOut: true, at: utc('2023-09-12T07:31:45') },
        { choice: 'material', optedOut: true, at: utc('2023-09-12T07:32:10') },
        { choice: 'material', optedOut: false, at: utc('2025-01-27T18:05:59') },
      ],
    },
  ]
  plan.optOuts.push(...optOuts)
  return plan
}
