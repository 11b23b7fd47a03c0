// FHIR R4 interchange: samples as Specimen (bbmri.de codes), the research opt-out as Consent, and Bundles of them,
// built in memory or streamed entry by entry for exports of any size. Pure functions over plain values, so the
// staff export and the citizen's own-data download produce the same resources.
//
// Hand-written minimal R4 types: only the elements we fill in. Every resource here validates against the
// official R4 JSON schema (test/unit/fhir.test.ts).
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import {
  findEntry,
  materialTypes,
  optOutChoices,
  SAMPLE_MATERIAL_TYPE_SYSTEM,
  STORAGE_TEMPERATURE_EXTENSION,
  storageTemperatures,
  type Availability,
  type MaterialType,
  type OptOutChoice,
  type QuantityUnit,
  type StorageTemperature,
} from './vocabulary.ts'

// ---------------------------------------------------------------------------------------------------------------
// Identifiers of our own. They name things, they are never fetched; once published they must not change.

/** Root of the URIs this registry defines for FHIR (code systems, identifier systems, policies). */
export const REGISTRY_FHIR_BASE = 'https://biobank-registry.example/fhir'
/** bbmri.de code system of the StorageTemperature extension's value. */
export const STORAGE_TEMPERATURE_SYSTEM = 'https://fhir.bbmri.de/CodeSystem/StorageTemperature'
/** Our code system for the two opt-out choices of Sundhedsloven § 29; codes are OPT_OUT_CHOICE_CODES. */
export const OPT_OUT_CHOICE_SYSTEM = `${REGISTRY_FHIR_BASE}/CodeSystem/research-opt-out-choice`
/** The policy a research opt-out Consent is made under: Sundhedsloven § 29 (Vævsanvendelsesregisteret). */
export const OPT_OUT_POLICY_URI = `${REGISTRY_FHIR_BASE}/policy/dk-sundhedsloven-29`
export const UCUM_SYSTEM = 'http://unitsofmeasure.org'
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope'
export const V3_ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
export const V3_ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason'
export const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types'
export const LOINC_SYSTEM = 'http://loinc.org'

/** Identifier system of sample labels: a label is unique within its biobank only, so each biobank has its own. */
export function sampleLabelSystem(biobankCode: string): string {
  return `${REGISTRY_FHIR_BASE}/sid/sample-label/${encodeURIComponent(biobankCode)}`
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal R4 data types.

export interface FhirCoding {
  system: string
  code: string
  display?: string
}

export interface FhirCodeableConcept {
  coding?: FhirCoding[]
  text?: string
}

export interface FhirReference {
  reference?: string
  display?: string
}

export interface FhirIdentifier {
  system: string
  value: string
}

export interface FhirQuantity {
  value: number
  unit: string
  system: string
  code: string
}

export interface FhirExtension {
  url: string
  valueCodeableConcept: FhirCodeableConcept
}

export interface FhirNarrative {
  status: 'generated'
  div: string
}

export interface FhirSpecimen {
  resourceType: 'Specimen'
  id: string
  extension: FhirExtension[]
  identifier: FhirIdentifier[]
  status: 'available' | 'unavailable'
  type: FhirCodeableConcept
  subject?: FhirReference
  parent?: FhirReference[]
  collection: { collectedDateTime: string }
  container?: { specimenQuantity: FhirQuantity }[]
}

export interface FhirConsentProvision {
  /** Not permitted in the root provision (R4); required in every nested one. */
  type?: 'deny' | 'permit'
  purpose?: FhirCoding[]
  class?: FhirCoding[]
  code?: FhirCodeableConcept[]
  provision?: FhirConsentProvision[]
}

export interface FhirConsent {
  resourceType: 'Consent'
  id: string
  text: FhirNarrative
  status: 'active'
  scope: FhirCodeableConcept
  category: FhirCodeableConcept[]
  patient?: FhirReference
  dateTime: string
  policy: { uri: string }[]
  policyRule: FhirCodeableConcept
  provision: FhirConsentProvision
}

/** Any other resource a caller adds to a Bundle (e.g. a Patient in the citizen's download). */
export interface FhirOtherResource {
  resourceType: string
  id?: string
  [element: string]: unknown
}

export type FhirResource = FhirSpecimen | FhirConsent | FhirOtherResource

export type BundleType = 'collection' | 'searchset'

export interface FhirBundleEntry {
  fullUrl: string
  resource: FhirResource
  search?: { mode: 'match' }
}

export interface FhirBundle {
  resourceType: 'Bundle'
  type: BundleType
  timestamp?: string
  total?: number
  entry?: FhirBundleEntry[]
}

export interface BundleOptions {
  /** When the Bundle was assembled (Bundle.timestamp). */
  timestamp?: Date
}

// ---------------------------------------------------------------------------------------------------------------
// Specimen

export interface SpecimenInput {
  publicId: string
  label: string
  biobankCode: string
  materialType: MaterialType
  collectedAt: Date
  storageTemperature: StorageTemperature
  parentPublicId: string | null
  quantity: string | null
  quantityUnit: QuantityUnit | null
  availability: Availability
  subject?: { reference?: string; display?: string }
}

/** UCUM code and display unit of each quantity unit. A count is a dimensionless number: `{count}` is UCUM's 1. */
const UCUM: Record<QuantityUnit, { code: string; unit: string }> = {
  mL: { code: 'mL', unit: 'mL' },
  uL: { code: 'uL', unit: 'µL' },
  mg: { code: 'mg', unit: 'mg' },
  ug: { code: 'ug', unit: 'µg' },
  count: { code: '{count}', unit: 'count' },
}

/** Specimen.status: what a researcher can still ask for. Reserved is still there; the rest is gone. */
const SPECIMEN_STATUS: Record<Availability, FhirSpecimen['status']> = {
  available: 'available',
  reserved: 'available',
  distributed: 'unavailable',
  depleted: 'unavailable',
  destroyed: 'unavailable',
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/
const FHIR_DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/

function assertFhirId(id: string, what: string): void {
  if (!FHIR_ID.test(id)) throw new RangeError(`${what} is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`)
}

/** Database numeric text (`1.500`, `12`) as a FHIR decimal; leading zeros are not allowed in JSON. */
function decimal(text: string): number {
  const trimmed = text.trim().replace(/^(-?)0+(?=\d)/, '$1')
  if (!FHIR_DECIMAL.test(trimmed)) throw new RangeError('quantity is not a decimal number')
  return Number(trimmed)
}

function dateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('not a valid date')
  return date.toISOString()
}

export function specimenResource(s: SpecimenInput): FhirSpecimen {
  assertFhirId(s.publicId, 'publicId')
  const material = findEntry(materialTypes, s.materialType)
  const temperature = findEntry(storageTemperatures, s.storageTemperature)
  if (!material) throw new RangeError(`unknown material type ${s.materialType}`)
  if (!temperature) throw new RangeError(`unknown storage temperature ${s.storageTemperature}`)

  const specimen: FhirSpecimen = {
    resourceType: 'Specimen',
    id: s.publicId,
    extension: [
      {
        url: STORAGE_TEMPERATURE_EXTENSION,
        valueCodeableConcept: { coding: [{ system: STORAGE_TEMPERATURE_SYSTEM, code: temperature.fhir }], text: temperature.miabis },
      },
    ],
    identifier: [{ system: sampleLabelSystem(s.biobankCode), value: s.label }],
    status: SPECIMEN_STATUS[s.availability],
    type: { coding: [{ system: SAMPLE_MATERIAL_TYPE_SYSTEM, code: material.fhir }], text: material.miabis },
    collection: { collectedDateTime: dateTime(s.collectedAt) },
  }
  const subject: FhirReference = {}
  if (s.subject?.reference) subject.reference = s.subject.reference
  if (s.subject?.display) subject.display = s.subject.display
  if (Object.keys(subject).length > 0) specimen.subject = subject
  if (s.parentPublicId !== null) {
    assertFhirId(s.parentPublicId, 'parentPublicId')
    specimen.parent = [{ reference: `Specimen/${s.parentPublicId}` }]
  }
  // The database holds both or neither; a quantity without a unit is no quantity.
  if (s.quantity !== null && s.quantityUnit !== null) {
    const ucum = UCUM[s.quantityUnit]
    specimen.container = [{ specimenQuantity: { value: decimal(s.quantity), unit: ucum.unit, system: UCUM_SYSTEM, code: ucum.code } }]
  }
  return specimen
}

// ---------------------------------------------------------------------------------------------------------------
// Consent (the research opt-out of Sundhedsloven § 29)

export interface ConsentInput {
  id: string
  material: boolean
  genetic: boolean
  updatedAt: Date
  patientReference?: string
}

const RESEARCH_PURPOSE: FhirCoding = { system: V3_ACT_REASON_SYSTEM, code: 'HRESCH', display: 'healthcare research' }

/** What each choice withholds from research: the material itself, or genetic information derived from it. */
const CHOICE_CLASS: Record<OptOutChoice, FhirCoding[]> = {
  material: [{ system: RESOURCE_TYPES_SYSTEM, code: 'Specimen' }],
  genetic: [{ system: RESOURCE_TYPES_SYSTEM, code: 'MolecularSequence' }],
}

function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/**
 * A person's current research opt-out as an R4 Consent.
 *
 * Shape: the base policy (policyRule) is v3 OPTOUT under Sundhedsloven § 29 (policy): research use is allowed
 * unless the person has opted out. The root provision carries the purpose (research) and, as R4 requires, no
 * type; each active choice is one nested provision of type `deny` coded with OPT_OUT_CHOICE_SYSTEM.
 *
 * With neither choice active the Consent is still `active` and valid: it records the person's current position,
 * "no opt-out", as a root provision with no nested deny, and says so in the narrative. (Not `inactive`: that would
 * read as "no current record", while a withdrawn opt-out is a definite, receipted position.)
 *
 * R4 invariant ppc-3 asks for a patient when the scope is research: pass `patientReference` whenever the
 * document has one (e.g. the citizen's Patient entry in the same Bundle).
 */
export function consentResource(c: ConsentInput): FhirConsent {
  assertFhirId(c.id, 'Consent id')
  const active = optOutChoices.filter((choice) => c[choice.code])
  const denies: FhirConsentProvision[] = active.map((choice) => ({
    type: 'deny',
    purpose: [RESEARCH_PURPOSE],
    class: CHOICE_CLASS[choice.code],
    code: [{ coding: [{ system: OPT_OUT_CHOICE_SYSTEM, code: choice.code, display: choice.en }], text: choice.descriptionDa }],
  }))
  const summary =
    active.length === 0
      ? '<p>Ingen forskningsfravalg registreret.</p><p>No research opt-out registered.</p>'
      : `<p>Forskningsfravalg (Vævsanvendelsesregisteret): ${active.map((choice) => escapeXhtml(choice.da)).join(', ')}.</p>` +
        `<p>Research opt-out: ${active.map((choice) => escapeXhtml(choice.en)).join(', ')}.</p>`

  const consent: FhirConsent = {
    resourceType: 'Consent',
    id: c.id,
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${summary}</div>` },
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'research', display: 'Research' }] },
    category: [{ coding: [{ system: LOINC_SYSTEM, code: '59284-0' }], text: 'Forskningsfravalg (Vævsanvendelsesregisteret)' }],
    dateTime: dateTime(c.updatedAt),
    policy: [{ uri: OPT_OUT_POLICY_URI }],
    policyRule: {
      coding: [{ system: V3_ACT_CODE_SYSTEM, code: 'OPTOUT', display: 'opt-out' }],
      text: 'Sundhedsloven § 29: fravalg af forskning i Vævsanvendelsesregisteret',
    },
    provision: { purpose: [RESEARCH_PURPOSE] },
  }
  if (c.patientReference) consent.patient = { reference: c.patientReference }
  if (denies.length > 0) consent.provision.provision = denies
  return consent
}

// ---------------------------------------------------------------------------------------------------------------
// Bundle

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Namespace of the name-based (v5) UUIDs that stand for resources whose id is not itself a UUID. */
const FULL_URL_NAMESPACE = 'a3b4b7b2-9f2e-5c61-8d0e-6f1f5b0c2d41'

function uuidV5(name: string, namespace: string): string {
  const hash = crypto.createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * Bundle.entry.fullUrl: an absolute `urn:uuid:`. A resource whose id is a UUID (every Specimen: the sample's
 * public id) gets that UUID, so the same sample has the same fullUrl in every export; other ids get a stable
 * name-based UUID of `Type/id`. References stay relative (`Specimen/<id>`): a reader matches them to entries by
 * type and id, and a parent outside the export (filtered out) is still named.
 */
export function fullUrlOf(resource: FhirResource): string {
  if (resource.id === undefined) return `urn:uuid:${crypto.randomUUID()}`
  if (UUID.test(resource.id)) return `urn:uuid:${resource.id.toLowerCase()}`
  return `urn:uuid:${uuidV5(`${resource.resourceType}/${resource.id}`, FULL_URL_NAMESPACE)}`
}

function entryOf(type: BundleType, resource: FhirResource): FhirBundleEntry {
  const entry: FhirBundleEntry = { fullUrl: fullUrlOf(resource), resource }
  if (type === 'searchset') entry.search = { mode: 'match' }
  return entry
}

/** A Bundle of resources held in memory. An empty Bundle has no `entry` (R4 JSON allows no empty arrays). */
export function bundle(type: BundleType, resources: FhirResource[], options: BundleOptions = {}): FhirBundle {
  const result: FhirBundle = { resourceType: 'Bundle', type }
  if (options.timestamp) result.timestamp = dateTime(options.timestamp)
  if (type === 'searchset') result.total = resources.length
  if (resources.length > 0) result.entry = resources.map((resource) => entryOf(type, resource))
  return result
}

/** Entries are gathered into chunks of about this many characters, so a large export is not a million tiny writes. */
const CHUNK_CHARACTERS = 64 * 1024

/**
 * The JSON text of a Bundle, in chunks, reading resources one at a time from `resources` (an async iterable, e.g.
 * batches read from the database): only the current chunk is ever in memory. The result parses to the same
 * Bundle `bundle()` builds, except that a streamed searchset has no `total` (it is not known in advance).
 */
export async function* bundleJsonChunks(resources: AsyncIterable<FhirResource> | Iterable<FhirResource>, type: BundleType = 'collection', options: BundleOptions = {}): AsyncGenerator<string, void, undefined> {
  let chunk = `{"resourceType":"Bundle","type":${JSON.stringify(type)}`
  if (options.timestamp) chunk += `,"timestamp":${JSON.stringify(dateTime(options.timestamp))}`
  let entries = 0
  for await (const resource of resources) {
    chunk += (entries === 0 ? ',"entry":[' : ',') + JSON.stringify(entryOf(type, resource))
    entries++
    if (chunk.length >= CHUNK_CHARACTERS) {
      yield chunk
      chunk = ''
    }
  }
  yield `${chunk}${entries > 0 ? ']' : ''}}`
}

/** bundleJsonChunks as a byte Readable (UTF-8), to pipe to a response; destroying it stops reading `resources`. */
export function bundleStream(resources: AsyncIterable<FhirResource> | Iterable<FhirResource>, type: BundleType = 'collection', options: BundleOptions = {}): Readable {
  return Readable.from(bundleJsonChunks(resources, type, options), { objectMode: false })
}
