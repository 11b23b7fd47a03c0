// What a realistic sample of each material type looks like: how it is stored, how much there is, its SPREC code,
// and what can be made from it. Shared by the demo data and the bulk generator.
import type { Availability, BiobankCode, MaterialType, QuantityUnit, StorageTemperature } from '../server/domain/vocabulary.ts'
import type { Rng } from './random.ts'

export interface MaterialProfile {
  readonly code: MaterialType
  /** Relative frequency among primary samples. */
  readonly weight: number
  readonly temperatures: readonly (readonly [StorageTemperature, number])[]
  readonly unit: QuantityUnit
  /** Quantity range and decimals. */
  readonly quantity: readonly [number, number, number]
  /** SPREC sample type and primary containers (fluids only). */
  readonly sprec?: { readonly type: string; readonly containers: readonly string[] }
  /** Materials made from it (lineage `derivative`); an aliquot is always possible (same material). */
  readonly derivatives: readonly MaterialType[]
}

export const materialProfiles: readonly MaterialProfile[] = [
  { code: 'whole-blood', weight: 16, temperatures: [['-60to-85', 6], ['2to10', 2], ['-18to-35', 1]], unit: 'mL', quantity: [1, 10, 1], sprec: { type: 'BLD', containers: ['PED', 'SCI', 'ACD'] }, derivatives: ['plasma', 'serum', 'buffy-coat', 'dna', 'rna'] },
  { code: 'plasma', weight: 14, temperatures: [['-60to-85', 8], ['-18to-35', 1], ['below-135', 1]], unit: 'mL', quantity: [0.2, 2, 1], sprec: { type: 'PL1', containers: ['PED', 'PHE', 'PCI'] }, derivatives: [] },
  { code: 'serum', weight: 14, temperatures: [['-60to-85', 8], ['-18to-35', 2]], unit: 'mL', quantity: [0.2, 2, 1], sprec: { type: 'SER', containers: ['SST', 'SCI'] }, derivatives: [] },
  { code: 'buffy-coat', weight: 4, temperatures: [['-60to-85', 3], ['below-135', 1]], unit: 'mL', quantity: [0.2, 1, 1], sprec: { type: 'BUF', containers: ['PED', 'ACD'] }, derivatives: ['dna', 'cell-line'] },
  { code: 'dna', weight: 7, temperatures: [['-18to-35', 4], ['-60to-85', 3], ['2to10', 1]], unit: 'ug', quantity: [5, 200, 1], derivatives: [] },
  { code: 'rna', weight: 3, temperatures: [['-60to-85', 3], ['below-135', 1]], unit: 'ug', quantity: [1, 50, 1], derivatives: [] },
  { code: 'tissue-ffpe', weight: 9, temperatures: [['rt', 1]], unit: 'count', quantity: [1, 6, 0], derivatives: ['dna', 'rna'] },
  { code: 'tissue-frozen', weight: 5, temperatures: [['ln-vapor', 3], ['-60to-85', 2], ['below-135', 1]], unit: 'mg', quantity: [10, 500, 0], derivatives: ['dna', 'rna'] },
  { code: 'saliva', weight: 4, temperatures: [['-18to-35', 2], ['-60to-85', 1], ['rt', 1]], unit: 'mL', quantity: [0.5, 4, 1], sprec: { type: 'SAL', containers: ['XXX', 'ZZZ'] }, derivatives: ['dna'] },
  { code: 'urine', weight: 8, temperatures: [['-60to-85', 3], ['-18to-35', 2], ['2to10', 1]], unit: 'mL', quantity: [1, 50, 0], sprec: { type: 'URN', containers: ['XXX', 'ZZZ'] }, derivatives: [] },
  { code: 'faeces', weight: 3, temperatures: [['-60to-85', 1]], unit: 'mg', quantity: [100, 2000, 0], derivatives: ['dna'] },
  { code: 'csf', weight: 2, temperatures: [['-60to-85', 1]], unit: 'mL', quantity: [0.5, 5, 1], sprec: { type: 'CSF', containers: ['XXX', 'ZZZ'] }, derivatives: [] },
  { code: 'bone-marrow', weight: 2, temperatures: [['ln-vapor', 2], ['-60to-85', 1]], unit: 'mL', quantity: [0.5, 5, 1], sprec: { type: 'BMA', containers: ['PED', 'PHE'] }, derivatives: ['dna', 'cell-line'] },
  { code: 'swab', weight: 4, temperatures: [['-60to-85', 2], ['2to10', 1], ['rt', 1]], unit: 'count', quantity: [1, 2, 0], derivatives: ['dna', 'rna'] },
  { code: 'cell-line', weight: 1, temperatures: [['ln-liquid', 2], ['ln-vapor', 1]], unit: 'count', quantity: [1, 5, 0], derivatives: ['dna', 'rna'] },
  { code: 'other', weight: 1, temperatures: [['-60to-85', 1], ['-18to-35', 1]], unit: 'mL', quantity: [0.5, 10, 1], derivatives: [] },
]

const byCode = new Map(materialProfiles.map((p) => [p.code, p]))

export function profileOf(code: MaterialType): MaterialProfile {
  const profile = byCode.get(code)
  if (!profile) throw new RangeError(`no profile for ${code}`)
  return profile
}

export const primaryMaterialWeights: readonly (readonly [MaterialType, number])[] = materialProfiles.map((p) => [p.code, p.weight])

/** A fluid's SPREC code (e.g. SER-SST-A-D-N-A-D), or null for solids or when the biobank did not record one. */
export function sprecFor(rng: Rng, material: MaterialType, recordedChance = 0.6): string | null {
  const sprec = profileOf(material).sprec
  if (!sprec || !rng.chance(recordedChance)) return null
  const spun = sprec.type !== 'BLD' && sprec.type !== 'URN' && sprec.type !== 'SAL'
  const letters = [
    rng.pick(['A', 'A', 'B', 'C', 'D']), // pre-centrifugation delay
    spun ? rng.pick(['B', 'D', 'D', 'E']) : 'N', // centrifugation
    spun && rng.chance(0.2) ? 'B' : 'N', // second centrifugation
    spun ? rng.pick(['A', 'A', 'B', 'C']) : 'N', // post-centrifugation delay
    rng.pick(['D', 'D', 'E', 'F', 'B']), // long-term storage
  ]
  return `${sprec.type}-${rng.pick(sprec.containers)}-${letters.join('-')}`
}

export function quantityFor(rng: Rng, material: MaterialType): { quantity: string; quantityUnit: QuantityUnit } {
  const { unit, quantity: [min, max, decimals] } = profileOf(material)
  const value = Math.max(min + rng.next() * (max - min), 10 ** -decimals)
  return { quantity: value.toFixed(decimals), quantityUnit: unit }
}

export function temperatureFor(rng: Rng, material: MaterialType): StorageTemperature {
  return rng.weighted(profileOf(material).temperatures)
}

/** ICD-10 codes (WHO form, as stored) seen in Danish clinical biobanks. */
export const diagnoses: readonly string[] = [
  'C50.9', 'C50.4', 'C18.7', 'C20', 'C34.1', 'C61', 'C43.5', 'C56.9', 'C64', 'C71.9', 'C83.3', 'C90.0', 'C91.1',
  'E11.9', 'E10.9', 'I21.4', 'I25.1', 'I48.9', 'J44.9', 'J45.9', 'K50.9', 'K51.9', 'M05.9', 'G35', 'G20', 'N18.5',
  'O14.1', 'U07.1', 'Z00.0', 'D50.9',
]

export function diagnosisFor(rng: Rng, chance = 0.5): string | null {
  return rng.chance(chance) ? rng.pick(diagnoses) : null
}

export function availabilityFor(rng: Rng): Availability {
  return rng.weighted<Availability>([['available', 80], ['reserved', 6], ['distributed', 6], ['depleted', 5], ['destroyed', 3]])
}

/** Stored samples occupy a freezer position; the others have left it. */
export function isStored(availability: Availability): boolean {
  return availability === 'available' || availability === 'reserved'
}

/** Region by population (approximate share of Denmark's inhabitants). */
export const biobankWeights: readonly (readonly [BiobankCode, number])[] = [
  ['RH', 32],
  ['RSJ', 14],
  ['RSD', 21],
  ['RM', 23],
  ['RN', 10],
]

const ROWS = 'ABCDEFGHI'

/** Position in a 9 × 9 box: A1 … I9. */
export function boxPosition(n: number): string {
  return `${ROWS[Math.floor(n / 9) % 9]}${(n % 9) + 1}`
}

const storeKind: Record<StorageTemperature, string> = {
  rt: 'ARKIV',
  '2to10': 'KOEL',
  '-18to-35': 'FRYS20',
  '-60to-85': 'FRYS80',
  'below-135': 'FRYS150',
  'ln-vapor': 'LN2',
  'ln-liquid': 'LN2',
  other: 'DIV',
}

/**
 * Hands out FREEZER/RACK/BOX/POSITION places one after the other, per biobank and kind of store, so no two stored
 * samples share a place. `prefix` keeps separate runs apart (the bulk generator uses its run id).
 */
export class StorageAllocator {
  private readonly next = new Map<string, number>()

  constructor(
    private readonly prefix = '',
    private readonly boxesPerRack = 12,
    private readonly racksPerFreezer = 8,
  ) {}

  allocate(biobank: string, temperature: StorageTemperature): string {
    const kind = storeKind[temperature]
    const key = `${biobank}/${kind}`
    const n = this.next.get(key) ?? 0
    this.next.set(key, n + 1)
    const box = Math.floor(n / 81)
    const rack = Math.floor(box / this.boxesPerRack)
    const freezer = Math.floor(rack / this.racksPerFreezer)
    const two = (v: number) => String(v).padStart(2, '0')
    return `${this.prefix}${kind}-${two(freezer + 1)}/R${two((rack % this.racksPerFreezer) + 1)}/B${two((box % this.boxesPerRack) + 1)}/${boxPosition(n)}`
  }
}
