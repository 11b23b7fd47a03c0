// Controlled vocabularies (MIABIS 3.0 with bbmri.de FHIR codes, OpenSpecimen availability, VAR opt-out choices).
// Codes are stored in the database; labels are display only.

export type Lang = 'da' | 'en'

export interface VocabularyEntry {
  readonly code: string
  readonly da: string
  readonly en: string
}

export interface MiabisEntry extends VocabularyEntry {
  /** MIABIS 3.0 term, for the BBMRI-ERIC Directory export. */
  readonly miabis: string
  /** bbmri.de FHIR code. */
  readonly fhir: string
}

export interface OptOutChoiceEntry extends VocabularyEntry {
  /** Plain-language meaning, in the citizen's words. */
  readonly descriptionDa: string
  readonly descriptionEn: string
}

export interface BiobankEntry {
  readonly code: string
  readonly name: string
  readonly region: string
}

type CodesOf<T extends readonly { readonly code: string }[]> = {
  readonly [K in keyof T]: T[K] extends { readonly code: infer C } ? C : never
}

// Frozen at runtime too, so no caller can add or relabel a code.
function defineVocabulary<const T extends readonly object[]>(entries: T): T {
  for (const entry of entries) Object.freeze(entry)
  return Object.freeze(entries)
}

// A tuple (not string[]) so it can feed z.enum and exhaustive switches.
function codesOf<const T extends readonly { readonly code: string }[]>(vocabulary: T): CodesOf<T> {
  return Object.freeze(vocabulary.map((entry) => entry.code)) as unknown as CodesOf<T>
}

/** FHIR code system of `fhir` in materialTypes. */
export const SAMPLE_MATERIAL_TYPE_SYSTEM = 'https://fhir.bbmri.de/CodeSystem/SampleMaterialType'

export const materialTypes = defineVocabulary([
  { code: 'whole-blood', miabis: 'Blood', da: 'Fuldblod', en: 'Whole blood', fhir: 'whole-blood' },
  { code: 'plasma', miabis: 'Plasma', da: 'Plasma', en: 'Plasma', fhir: 'blood-plasma' },
  { code: 'serum', miabis: 'Serum', da: 'Serum', en: 'Serum', fhir: 'blood-serum' },
  { code: 'buffy-coat', miabis: 'Buffy coat', da: 'Buffy coat', en: 'Buffy coat', fhir: 'buffy-coat' },
  { code: 'dna', miabis: 'DNA', da: 'DNA', en: 'DNA', fhir: 'dna' },
  { code: 'rna', miabis: 'RNA', da: 'RNA', en: 'RNA', fhir: 'rna' },
  {
    code: 'tissue-ffpe',
    miabis: 'Tissue (FFPE)',
    da: 'Væv (formalinfikseret, paraffin)',
    en: 'Tissue (formalin-fixed, paraffin-embedded)',
    fhir: 'tissue-ffpe',
  },
  { code: 'tissue-frozen', miabis: 'Tissue (Frozen)', da: 'Væv (frosset)', en: 'Tissue (frozen)', fhir: 'tissue-frozen' },
  { code: 'saliva', miabis: 'Saliva', da: 'Spyt', en: 'Saliva', fhir: 'saliva' },
  { code: 'urine', miabis: 'Urine', da: 'Urin', en: 'Urine', fhir: 'urine' },
  { code: 'faeces', miabis: 'Faeces', da: 'Fæces', en: 'Faeces', fhir: 'stool-faeces' },
  { code: 'csf', miabis: 'Other body fluid (CSF)', da: 'Rygmarvsvæske', en: 'Cerebrospinal fluid', fhir: 'csf-liquor' },
  {
    code: 'bone-marrow',
    miabis: 'Other body fluid (bone marrow)',
    da: 'Knoglemarv',
    en: 'Bone marrow',
    fhir: 'bone-marrow',
  },
  { code: 'swab', miabis: 'Swab', da: 'Podning', en: 'Swab', fhir: 'swab' },
  { code: 'cell-line', miabis: 'Immortalized cell lines', da: 'Cellelinje', en: 'Cell line', fhir: 'derivative-other' },
  { code: 'other', miabis: 'Other', da: 'Andet', en: 'Other', fhir: 'liquid-other' },
] as const satisfies readonly MiabisEntry[])
export type MaterialType = (typeof materialTypes)[number]['code']
export const MATERIAL_TYPE_CODES = codesOf(materialTypes)

/** FHIR extension carrying `fhir` of storageTemperatures. */
export const STORAGE_TEMPERATURE_EXTENSION = 'https://fhir.bbmri.de/StructureDefinition/StorageTemperature'

// miabis strings follow DOMAIN.md verbatim (with U+2212 minus signs).
export const storageTemperatures = defineVocabulary([
  { code: 'rt', miabis: 'RT', da: 'Stuetemperatur', en: 'Room temperature', fhir: 'temperatureRoom' },
  { code: '2to10', miabis: '2 °C to 10 °C', da: '2 °C til 10 °C', en: '2 °C to 10 °C', fhir: 'temperature2to10' },
  {
    code: '-18to-35',
    miabis: '−18 °C to −35 °C',
    da: '−18 °C til −35 °C',
    en: '−18 °C to −35 °C',
    fhir: 'temperature-18to-35',
  },
  {
    code: '-60to-85',
    miabis: '−60 °C to −85 °C',
    da: '−60 °C til −85 °C',
    en: '−60 °C to −85 °C',
    fhir: 'temperature-60to-85',
  },
  { code: 'below-135', miabis: 'below −135 °C', da: 'Under −135 °C', en: 'Below −135 °C', fhir: 'temperatureOther' },
  {
    code: 'ln-vapor',
    miabis: 'Liquid nitrogen, vapour phase',
    da: 'Flydende nitrogen, dampfase',
    en: 'Liquid nitrogen, vapour phase',
    fhir: 'temperatureGN',
  },
  {
    code: 'ln-liquid',
    miabis: 'Liquid nitrogen, liquid phase',
    da: 'Flydende nitrogen, væskefase',
    en: 'Liquid nitrogen, liquid phase',
    fhir: 'temperatureLN',
  },
  { code: 'other', miabis: 'Other', da: 'Andet', en: 'Other', fhir: 'temperatureOther' },
] as const satisfies readonly MiabisEntry[])
export type StorageTemperature = (typeof storageTemperatures)[number]['code']
export const STORAGE_TEMPERATURE_CODES = codesOf(storageTemperatures)

export const lineages = defineVocabulary([
  { code: 'primary', da: 'Primærprøve', en: 'Primary sample' },
  { code: 'aliquot', da: 'Alikvot', en: 'Aliquot' },
  { code: 'derivative', da: 'Derivat', en: 'Derivative' },
] as const satisfies readonly VocabularyEntry[])
export type Lineage = (typeof lineages)[number]['code']
export const LINEAGE_CODES = codesOf(lineages)

export const availabilities = defineVocabulary([
  { code: 'available', da: 'Tilgængelig', en: 'Available' },
  { code: 'reserved', da: 'Reserveret', en: 'Reserved' },
  { code: 'distributed', da: 'Udleveret', en: 'Distributed' },
  { code: 'depleted', da: 'Opbrugt', en: 'Depleted' },
  { code: 'destroyed', da: 'Destrueret', en: 'Destroyed' },
] as const satisfies readonly VocabularyEntry[])
export type Availability = (typeof availabilities)[number]['code']
export const AVAILABILITY_CODES = codesOf(availabilities)

export const sampleEventTypes = defineVocabulary([
  { code: 'collected', da: 'Udtaget', en: 'Collected' },
  { code: 'received', da: 'Modtaget', en: 'Received' },
  { code: 'processed', da: 'Behandlet', en: 'Processed' },
  { code: 'moved', da: 'Flyttet', en: 'Moved' },
  { code: 'thawed', da: 'Optøet', en: 'Thawed' },
  { code: 'frozen', da: 'Nedfrosset', en: 'Frozen' },
  { code: 'distributed', da: 'Udleveret', en: 'Distributed' },
  { code: 'destroyed', da: 'Destrueret', en: 'Destroyed' },
  { code: 'availability_changed', da: 'Tilgængelighed ændret', en: 'Availability changed' },
] as const satisfies readonly VocabularyEntry[])
export type SampleEventType = (typeof sampleEventTypes)[number]['code']
export const SAMPLE_EVENT_TYPE_CODES = codesOf(sampleEventTypes)

// Codes are ASCII (CSV, database); labels use the proper symbols.
export const quantityUnits = defineVocabulary([
  { code: 'mL', da: 'mL', en: 'mL' },
  { code: 'uL', da: 'µL', en: 'µL' },
  { code: 'mg', da: 'mg', en: 'mg' },
  { code: 'ug', da: 'µg', en: 'µg' },
  { code: 'count', da: 'stk.', en: 'count' },
] as const satisfies readonly VocabularyEntry[])
export type QuantityUnit = (typeof quantityUnits)[number]['code']
export const QUANTITY_UNIT_CODES = codesOf(quantityUnits)

// The two independent choices of Sundhedsloven § 29.
export const optOutChoices = defineVocabulary([
  {
    code: 'material',
    da: 'Biologisk materiale',
    en: 'Biological material',
    descriptionDa: 'Mit væv og mine blodprøver og andre prøver må kun bruges til min egen behandling – ikke til forskning.',
    descriptionEn: 'My tissue, blood and other samples may only be used for my own treatment, not for research.',
  },
  {
    code: 'genetic',
    da: 'Genetiske oplysninger',
    en: 'Genetic data',
    descriptionDa: 'Genetiske oplysninger fra mit væv og mine prøver må ikke bruges til forskning.',
    descriptionEn: 'Genetic information from my tissue and samples may not be used for research.',
  },
] as const satisfies readonly OptOutChoiceEntry[])
export type OptOutChoice = (typeof optOutChoices)[number]['code']
export const OPT_OUT_CHOICE_CODES = codesOf(optOutChoices)

export const staffRoles = defineVocabulary([
  { code: 'registrar', da: 'Bioanalytiker/registrator', en: 'Biomedical scientist/registrar' },
  { code: 'biobank_admin', da: 'Biobankadministrator', en: 'Biobank administrator' },
  { code: 'auditor', da: 'Revisor', en: 'Auditor' },
] as const satisfies readonly VocabularyEntry[])
export type StaffRole = (typeof staffRoles)[number]['code']
export const STAFF_ROLE_CODES = codesOf(staffRoles)

// Demo data; a biobank's name is a proper noun and is not translated.
export const biobanks = defineVocabulary([
  { code: 'RH', name: 'Region Hovedstadens Biobank', region: 'Region Hovedstaden' },
  { code: 'RSJ', name: 'Region Sjællands Biobank', region: 'Region Sjælland' },
  { code: 'RSD', name: 'Region Syddanmarks Biobank', region: 'Region Syddanmark' },
  { code: 'RM', name: 'Region Midtjyllands Biobank', region: 'Region Midtjylland' },
  { code: 'RN', name: 'Region Nordjyllands Biobank', region: 'Region Nordjylland' },
] as const satisfies readonly BiobankEntry[])
export type BiobankCode = (typeof biobanks)[number]['code']
export const BIOBANK_CODES = codesOf(biobanks)

/** Type guard for a value read from a form, a CSV file or a token claim. */
export function isCode<E extends { readonly code: string }>(vocabulary: readonly E[], value: unknown): value is E['code'] {
  return typeof value === 'string' && vocabulary.some((entry) => entry.code === value)
}

export function findEntry<E extends { readonly code: string }>(vocabulary: readonly E[], code: string): E | undefined {
  return vocabulary.find((entry) => entry.code === code)
}

/** Display label; an unknown code (e.g. retired, still in old rows) shows as itself rather than breaking a page. */
export function label<E extends VocabularyEntry>(vocabulary: readonly E[], code: E['code'], lang: Lang): string {
  return findEntry(vocabulary, code)?.[lang] ?? code
}

export function optOutDescription(code: OptOutChoice, lang: Lang): string {
  const entry = findEntry(optOutChoices, code)
  if (entry === undefined) return code
  return lang === 'da' ? entry.descriptionDa : entry.descriptionEn
}
