// FHIR R4 mapping: every resource and Bundle we produce validates against the official R4 JSON schema, and the
// mapping says what DOMAIN.md says (bbmri.de codes, storage temperature extension, parent, status, opt-out).
import { expect } from 'chai'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import {
  bundle,
  bundleJsonChunks,
  bundleStream,
  consentResource,
  fullUrlOf,
  OPT_OUT_CHOICE_SYSTEM,
  sampleLabelSystem,
  specimenResource,
  STORAGE_TEMPERATURE_SYSTEM,
  UCUM_SYSTEM,
  type ConsentInput,
  type FhirConsent,
  type FhirResource,
  type SpecimenInput,
} from '../../server/domain/fhir.ts'
import {
  AVAILABILITY_CODES,
  MATERIAL_TYPE_CODES,
  QUANTITY_UNIT_CODES,
  SAMPLE_MATERIAL_TYPE_SYSTEM,
  STORAGE_TEMPERATURE_CODES,
  STORAGE_TEMPERATURE_EXTENSION,
} from '../../server/domain/vocabulary.ts'
import { validateFhir } from '../support/fhirSchema.ts'

const PARENT_ID = '6f0e2a8c-3b1d-4c55-9a7e-2d4f1b0c9e11'
const CHILD_ID = '0b7c4d2e-8f3a-4e19-b6d5-7a1c2e3f4a5b'

function sample(overrides: Partial<SpecimenInput> = {}): SpecimenInput {
  return {
    publicId: PARENT_ID,
    label: 'RH-2024-000123',
    biobankCode: 'RH',
    materialType: 'whole-blood',
    collectedAt: new Date('2024-03-05T08:30:00Z'),
    storageTemperature: '-60to-85',
    parentPublicId: null,
    quantity: '4.500',
    quantityUnit: 'mL',
    availability: 'available',
    ...overrides,
  }
}

function consent(material: boolean, genetic: boolean, overrides: Partial<ConsentInput> = {}): FhirConsent {
  return consentResource({ id: 'opt-out-42', material, genetic, updatedAt: new Date('2025-01-02T10:00:00Z'), patientReference: 'Patient/42', ...overrides })
}

/** A uuid per index, so generated samples have distinct, valid ids. */
function uuidOf(index: number): string {
  const hex = index.toString(16).padStart(12, '0')
  return `00000000-0000-4000-8000-${hex}`
}

describe('FHIR R4 mapping', () => {
  before(function () {
    // Compiling the 3.5 MB R4 schema takes a few seconds, once.
    this.timeout(60_000)
    validateFhir({ resourceType: 'Specimen' })
  })

  describe('the R4 schema validator', () => {
    it('accepts a minimal valid Specimen', () => {
      expect(validateFhir({ resourceType: 'Specimen', id: 'a1', status: 'available' })).to.deep.equal([])
    })

    it('rejects an unknown element, a bad code and an id that is not a FHIR id', () => {
      const errors = validateFhir({ resourceType: 'Specimen', id: 'not an id', status: 'lost', colour: 'red' })
      expect(errors.join('\n')).to.contain('colour').and.contain('/status').and.contain('/id')
    })

    it('rejects resource types that are not R4, including the server resources Medplum adds', () => {
      expect(validateFhir({ resourceType: 'Sample' })).to.have.length(1)
      expect(validateFhir({ resourceType: 'Project', id: 'x' })).to.have.length(1)
      expect(validateFhir('{"resourceType":"Specimen"}')).to.have.length(1)
      const withProject = validateFhir({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:x', resource: { resourceType: 'Project' } }] })
      expect(withProject.join('\n')).to.contain('/entry/0/resource/resourceType')
    })

    it('rejects elements Medplum adds to R4 data types', () => {
      const errors = validateFhir({ resourceType: 'Specimen', meta: { project: 'p' }, subject: { reference: 'Patient/1', resource: {} } })
      expect(errors.join('\n')).to.contain('project').and.contain('resource')
    })

    it('rejects empty arrays, empty objects and nulls, which the R4 JSON format forbids', () => {
      expect(validateFhir({ resourceType: 'Specimen', identifier: [] })).to.deep.equal(['/identifier is an empty array'])
      expect(validateFhir({ resourceType: 'Specimen', subject: {} })).to.deep.equal(['/subject is an empty object'])
      expect(validateFhir({ resourceType: 'Specimen', status: null }).join('\n')).to.contain('/status is null')
    })

    it('names the invalid entry of a Bundle', () => {
      const broken = bundle('collection', [specimenResource(sample()), { ...specimenResource(sample({ publicId: CHILD_ID })), status: 'gone' } as unknown as FhirResource])
      expect(validateFhir(broken)).to.deep.equal(['/entry/1/resource/status must be equal to one of the allowed values {"allowedValues":["available","unavailable","unsatisfactory","entered-in-error"]}'])
    })
  })

  describe('specimenResource', () => {
    it('maps a sample to a valid Specimen with its public id, label and collection time', () => {
      const specimen = specimenResource(sample())
      expect(validateFhir(specimen)).to.deep.equal([])
      expect(specimen.resourceType).to.equal('Specimen')
      expect(specimen.id).to.equal(PARENT_ID)
      expect(specimen.identifier).to.deep.equal([{ system: 'https://biobank-registry.example/fhir/sid/sample-label/RH', value: 'RH-2024-000123' }])
      expect(specimen.collection).to.deep.equal({ collectedDateTime: '2024-03-05T08:30:00.000Z' })
      expect(specimen).not.to.have.property('parent')
      expect(specimen).not.to.have.property('subject')
    })

    it('gives each biobank its own label system, since a label is unique only within its biobank', () => {
      expect(sampleLabelSystem('RH')).not.to.equal(sampleLabelSystem('RM'))
      expect(specimenResource(sample({ biobankCode: 'RM' })).identifier[0]!.system).to.equal(sampleLabelSystem('RM'))
    })

    it('codes the material type with the bbmri.de code, not our own code', () => {
      const expected = { 'whole-blood': 'whole-blood', plasma: 'blood-plasma', serum: 'blood-serum', faeces: 'stool-faeces', csf: 'csf-liquor', 'cell-line': 'derivative-other', other: 'liquid-other' } as const
      for (const [code, bbmri] of Object.entries(expected)) {
        const specimen = specimenResource(sample({ materialType: code as keyof typeof expected }))
        expect(specimen.type.coding, code).to.deep.equal([{ system: SAMPLE_MATERIAL_TYPE_SYSTEM, code: bbmri }])
      }
      expect(specimenResource(sample({ materialType: 'tissue-ffpe' })).type.text).to.equal('Tissue (FFPE)')
    })

    it('carries the storage temperature in the bbmri.de StorageTemperature extension', () => {
      const expected = { rt: 'temperatureRoom', '2to10': 'temperature2to10', '-18to-35': 'temperature-18to-35', '-60to-85': 'temperature-60to-85', 'below-135': 'temperatureOther', 'ln-vapor': 'temperatureGN', 'ln-liquid': 'temperatureLN', other: 'temperatureOther' } as const
      for (const [code, bbmri] of Object.entries(expected)) {
        const specimen = specimenResource(sample({ storageTemperature: code as keyof typeof expected }))
        expect(specimen.extension, code).to.have.length(1)
        expect(specimen.extension[0]!.url).to.equal(STORAGE_TEMPERATURE_EXTENSION)
        expect(specimen.extension[0]!.valueCodeableConcept.coding).to.deep.equal([{ system: STORAGE_TEMPERATURE_SYSTEM, code: bbmri }])
      }
      expect(STORAGE_TEMPERATURE_SYSTEM).to.equal('https://fhir.bbmri.de/CodeSystem/StorageTemperature')
    })

    it('points an aliquot or derivative at its parent Specimen', () => {
      const specimen = specimenResource(sample({ publicId: CHILD_ID, parentPublicId: PARENT_ID, materialType: 'dna' }))
      expect(specimen.parent).to.deep.equal([{ reference: `Specimen/${PARENT_ID}` }])
      expect(validateFhir(specimen)).to.deep.equal([])
    })

    it('is available while available or reserved, and unavailable once distributed, depleted or destroyed', () => {
      const statuses = Object.fromEntries(AVAILABILITY_CODES.map((availability) => [availability, specimenResource(sample({ availability })).status]))
      expect(statuses).to.deep.equal({ available: 'available', reserved: 'available', distributed: 'unavailable', depleted: 'unavailable', destroyed: 'unavailable' })
    })

    it('gives the quantity in UCUM, with a count as the dimensionless {count}', () => {
      const quantityOf = (quantity: string, quantityUnit: SpecimenInput['quantityUnit']) => specimenResource(sample({ quantity, quantityUnit })).container![0]!.specimenQuantity
      expect(quantityOf('4.500', 'mL')).to.deep.equal({ value: 4.5, unit: 'mL', system: UCUM_SYSTEM, code: 'mL' })
      expect(quantityOf('250.000', 'uL')).to.deep.equal({ value: 250, unit: 'µL', system: UCUM_SYSTEM, code: 'uL' })
      expect(quantityOf('12.125', 'mg')).to.deep.equal({ value: 12.125, unit: 'mg', system: UCUM_SYSTEM, code: 'mg' })
      expect(quantityOf('0.750', 'ug')).to.deep.equal({ value: 0.75, unit: 'µg', system: UCUM_SYSTEM, code: 'ug' })
      expect(quantityOf('3', 'count')).to.deep.equal({ value: 3, unit: 'count', system: UCUM_SYSTEM, code: '{count}' })
      expect(specimenResource(sample({ quantity: null, quantityUnit: null }))).not.to.have.property('container')
    })

    it('names the subject only when one is given', () => {
      expect(specimenResource(sample({ subject: { reference: 'Patient/42', display: 'Anne Andersen' } })).subject).to.deep.equal({ reference: 'Patient/42', display: 'Anne Andersen' })
      expect(specimenResource(sample({ subject: { display: 'Anne Andersen' } })).subject).to.deep.equal({ display: 'Anne Andersen' })
      expect(specimenResource(sample({ subject: {} }))).not.to.have.property('subject')
    })

    it('produces a valid Specimen for every material, temperature, unit and availability', () => {
      let index = 0
      for (const materialType of MATERIAL_TYPE_CODES) {
        for (const storageTemperature of STORAGE_TEMPERATURE_CODES) {
          const quantityUnit = QUANTITY_UNIT_CODES[index % QUANTITY_UNIT_CODES.length]!
          const availability = AVAILABILITY_CODES[index % AVAILABILITY_CODES.length]!
          const specimen = specimenResource(sample({ publicId: uuidOf(++index), materialType, storageTemperature, quantityUnit, availability, parentPublicId: index % 2 ? PARENT_ID : null }))
          expect(validateFhir(specimen), `${materialType} ${storageTemperature}`).to.deep.equal([])
        }
      }
    })

    it('refuses ids that are not FHIR ids rather than produce an invalid resource', () => {
      expect(() => specimenResource(sample({ publicId: 'has space' }))).to.throw(RangeError)
      expect(() => specimenResource(sample({ parentPublicId: 'x/y' }))).to.throw(RangeError)
      expect(() => specimenResource(sample({ collectedAt: new Date('nope') }))).to.throw(RangeError)
    })
  })

  describe('consentResource', () => {
    it('records an active research opt-out under Sundhedsloven § 29', () => {
      const resource = consent(true, false)
      expect(resource.status).to.equal('active')
      expect(resource.scope.coding).to.deep.equal([{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research', display: 'Research' }])
      expect(resource.category[0]!.coding).to.deep.equal([{ system: 'http://loinc.org', code: '59284-0' }])
      expect(resource.policyRule.coding![0]!.code).to.equal('OPTOUT')
      expect(resource.policyRule.text).to.contain('§ 29')
      expect(resource.policy[0]!.uri).to.match(/sundhedsloven-29$/)
      expect(resource.patient).to.deep.equal({ reference: 'Patient/42' })
      expect(resource.dateTime).to.equal('2025-01-02T10:00:00.000Z')
    })

    const states = [
      { material: false, genetic: false, denied: [] },
      { material: true, genetic: false, denied: ['material'] },
      { material: false, genetic: true, denied: ['genetic'] },
      { material: true, genetic: true, denied: ['material', 'genetic'] },
    ]
    for (const { material, genetic, denied } of states) {
      it(`has one deny provision per active choice (material ${material}, genetic ${genetic}) and validates`, () => {
        const resource = consent(material, genetic)
        expect(validateFhir(resource)).to.deep.equal([])
        // R4: the root provision has no type; every nested one has.
        expect(resource.provision).not.to.have.property('type')
        expect(resource.provision.purpose![0]!.code).to.equal('HRESCH')
        const nested = resource.provision.provision ?? []
        expect(nested.map((p) => p.type)).to.deep.equal(denied.map(() => 'deny'))
        expect(nested.map((p) => p.code![0]!.coding![0])).to.deep.equal(denied.map((code) => ({ system: OPT_OUT_CHOICE_SYSTEM, code, display: code === 'material' ? 'Biological material' : 'Genetic data' })))
        expect(nested.map((p) => p.class![0]!.code)).to.deep.equal(denied.map((code) => (code === 'material' ? 'Specimen' : 'MolecularSequence')))
        expect(resource.text.div).to.contain(denied.length === 0 ? 'Ingen forskningsfravalg registreret' : 'Forskningsfravalg')
      })
    }

    it('has no patient when none is given, and is still valid', () => {
      const resource = consentResource({ id: 'c1', material: true, genetic: false, updatedAt: new Date() })
      expect(resource).not.to.have.property('patient')
      expect(validateFhir(resource)).to.deep.equal([])
    })

    it('refuses an id that is not a FHIR id', () => {
      expect(() => consentResource({ id: 'opt out', material: true, genetic: true, updatedAt: new Date() })).to.throw(RangeError)
    })
  })

  describe('bundle', () => {
    const parent = specimenResource(sample())
    const child = specimenResource(sample({ publicId: CHILD_ID, parentPublicId: PARENT_ID, label: 'RH-2024-000123.1', materialType: 'dna', quantity: '20.000', quantityUnit: 'ug' }))

    it('builds a valid collection of Specimens and a Consent, with urn:uuid fullUrls', () => {
      const result = bundle('collection', [parent, child, consent(true, true)], { timestamp: new Date('2025-02-01T12:00:00Z') })
      expect(validateFhir(result)).to.deep.equal([])
      expect(result.type).to.equal('collection')
      expect(result.timestamp).to.equal('2025-02-01T12:00:00.000Z')
      expect(result).not.to.have.property('total')
      expect(result.entry!.map((e) => e.fullUrl)).to.deep.equal([`urn:uuid:${PARENT_ID}`, `urn:uuid:${CHILD_ID}`, fullUrlOf(consent(true, true))])
      expect(result.entry![2]!.fullUrl).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    })

    it('gives a non-UUID id the same fullUrl every time, and different ids different ones', () => {
      expect(fullUrlOf(consent(true, false))).to.equal(fullUrlOf(consent(false, true)))
      expect(fullUrlOf(consent(true, false, { id: 'opt-out-43' }))).not.to.equal(fullUrlOf(consent(true, false)))
    })

    it('lets a child Specimen reference resolve to its parent entry by type and id', () => {
      const result = bundle('collection', [parent, child])
      const reference = (result.entry![1]!.resource as typeof child).parent![0]!.reference!
      const [type, id] = reference.split('/')
      expect(result.entry!.some((e) => e.resource.resourceType === type && e.resource.id === id)).to.equal(true)
    })

    it('builds a valid searchset with a total and match entries', () => {
      const result = bundle('searchset', [parent, child])
      expect(validateFhir(result)).to.deep.equal([])
      expect(result.total).to.equal(2)
      expect(result.entry!.every((e) => e.search?.mode === 'match')).to.equal(true)
    })

    it('builds a valid empty Bundle, without an empty entry array', () => {
      for (const type of ['collection', 'searchset'] as const) {
        const result = bundle(type, [])
        expect(result).not.to.have.property('entry')
        expect(validateFhir(result)).to.deep.equal([])
      }
    })
  })

  describe('streamed Bundle', () => {
    async function* slowly<T>(items: T[]): AsyncGenerator<T> {
      for (const item of items) {
        await new Promise((resolve) => setImmediate(resolve))
        yield item
      }
    }

    it('streams the same collection bundle() builds', async () => {
      const resources = [specimenResource(sample()), specimenResource(sample({ publicId: CHILD_ID, parentPublicId: PARENT_ID }))]
      const timestamp = new Date('2025-02-01T12:00:00Z')
      const json = await text(bundleStream(slowly(resources), 'collection', { timestamp }))
      expect(JSON.parse(json)).to.deep.equal(bundle('collection', resources, { timestamp }))
    })

    it('streams an empty export as a valid Bundle', async () => {
      const json = await text(bundleStream(slowly([])))
      expect(JSON.parse(json)).to.deep.equal({ resourceType: 'Bundle', type: 'collection' })
      expect(validateFhir(JSON.parse(json))).to.deep.equal([])
    })

    it('streams thousands of Specimens in several chunks as one valid Bundle', async () => {
      const resources = Array.from({ length: 3000 }, (_, i) => specimenResource(sample({ publicId: uuidOf(i + 1), label: `L${i}`, parentPublicId: i > 0 ? uuidOf(i) : null })))
      const chunks: string[] = []
      for await (const chunk of bundleJsonChunks(slowly(resources))) chunks.push(chunk)
      expect(chunks.length).to.be.greaterThan(5)
      const parsed = JSON.parse(chunks.join('')) as { entry: unknown[] }
      expect(parsed.entry).to.have.length(3000)
      expect(validateFhir(parsed)).to.deep.equal([])
    })

    it('streams a searchset without a total, which is not known in advance', async () => {
      const json = JSON.parse(await text(bundleStream([specimenResource(sample())], 'searchset')))
      expect(json).not.to.have.property('total')
      expect(json.entry[0].search).to.deep.equal({ mode: 'match' })
      expect(validateFhir(json)).to.deep.equal([])
    })

    it('stops reading resources when the reader goes away', async () => {
      let read = 0
      let finished = false
      async function* source(): AsyncGenerator<FhirResource> {
        try {
          for (let i = 1; i <= 100_000; i++) {
            read++
            await new Promise((resolve) => setImmediate(resolve))
            yield specimenResource(sample({ publicId: uuidOf(i) }))
          }
        } finally {
          finished = true
        }
      }
      const stream: Readable = bundleStream(source())
      await new Promise<void>((resolve) => stream.once('data', () => resolve()))
      stream.destroy()
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(finished).to.equal(true)
      expect(read).to.be.lessThan(100_000)
    })
  })
})
