import { expect } from 'chai'
import {
  AVAILABILITY_CODES,
  BIOBANK_CODES,
  LINEAGE_CODES,
  MATERIAL_TYPE_CODES,
  OPT_OUT_CHOICE_CODES,
  QUANTITY_UNIT_CODES,
  SAMPLE_EVENT_TYPE_CODES,
  STAFF_ROLE_CODES,
  STORAGE_TEMPERATURE_CODES,
  availabilities,
  biobanks,
  findEntry,
  isCode,
  label,
  lineages,
  materialTypes,
  optOutChoices,
  optOutDescription,
  quantityUnits,
  sampleEventTypes,
  staffRoles,
  storageTemperatures,
} from '../../../server/domain/vocabulary.ts'
import type { MaterialType, VocabularyEntry } from '../../../server/domain/vocabulary.ts'

// Copied from DOMAIN.md: code → [MIABIS 3.0, Danish label, bbmri.de code].
const DOMAIN_MATERIAL_TYPES: Record<string, [string, string, string]> = {
  'whole-blood': ['Blood', 'Fuldblod', 'whole-blood'],
  plasma: ['Plasma', 'Plasma', 'blood-plasma'],
  serum: ['Serum', 'Serum', 'blood-serum'],
  'buffy-coat': ['Buffy coat', 'Buffy coat', 'buffy-coat'],
  dna: ['DNA', 'DNA', 'dna'],
  rna: ['RNA', 'RNA', 'rna'],
  'tissue-ffpe': ['Tissue (FFPE)', 'Væv (formalinfikseret, paraffin)', 'tissue-ffpe'],
  'tissue-frozen': ['Tissue (Frozen)', 'Væv (frosset)', 'tissue-frozen'],
  saliva: ['Saliva', 'Spyt', 'saliva'],
  urine: ['Urine', 'Urin', 'urine'],
  faeces: ['Faeces', 'Fæces', 'stool-faeces'],
  csf: ['Other body fluid (CSF)', 'Rygmarvsvæske', 'csf-liquor'],
  'bone-marrow': ['Other body fluid (bone marrow)', 'Knoglemarv', 'bone-marrow'],
  swab: ['Swab', 'Podning', 'swab'],
  'cell-line': ['Immortalized cell lines', 'Cellelinje', 'derivative-other'],
  other: ['Other', 'Andet', 'liquid-other'],
}

// Copied from DOMAIN.md: code → [MIABIS 3.0, bbmri.de code].
const DOMAIN_STORAGE_TEMPERATURES: Record<string, [string, string]> = {
  rt: ['RT', 'temperatureRoom'],
  '2to10': ['2 °C to 10 °C', 'temperature2to10'],
  '-18to-35': ['−18 °C to −35 °C', 'temperature-18to-35'],
  '-60to-85': ['−60 °C to −85 °C', 'temperature-60to-85'],
  'below-135': ['below −135 °C', 'temperatureOther'],
  'ln-vapor': ['Liquid nitrogen, vapour phase', 'temperatureGN'],
  'ln-liquid': ['Liquid nitrogen, liquid phase', 'temperatureLN'],
  other: ['Other', 'temperatureOther'],
}

const allLabelled: [string, readonly VocabularyEntry[], readonly string[]][] = [
  ['materialTypes', materialTypes, MATERIAL_TYPE_CODES],
  ['storageTemperatures', storageTemperatures, STORAGE_TEMPERATURE_CODES],
  ['lineages', lineages, LINEAGE_CODES],
  ['availabilities', availabilities, AVAILABILITY_CODES],
  ['sampleEventTypes', sampleEventTypes, SAMPLE_EVENT_TYPE_CODES],
  ['quantityUnits', quantityUnits, QUANTITY_UNIT_CODES],
  ['optOutChoices', optOutChoices, OPT_OUT_CHOICE_CODES],
  ['staffRoles', staffRoles, STAFF_ROLE_CODES],
]

describe('vocabulary', () => {
  describe('material types', () => {
    it('has exactly the 16 rows of DOMAIN.md, in order', () => {
      expect(MATERIAL_TYPE_CODES).to.deep.equal(Object.keys(DOMAIN_MATERIAL_TYPES))
    })

    it('carries the MIABIS term, Danish label and bbmri.de code of DOMAIN.md', () => {
      for (const entry of materialTypes) {
        expect([entry.miabis, entry.da, entry.fhir], entry.code).to.deep.equal(DOMAIN_MATERIAL_TYPES[entry.code])
      }
    })
  })

  describe('storage temperatures', () => {
    it('has exactly the 8 rows of DOMAIN.md, in order', () => {
      expect(STORAGE_TEMPERATURE_CODES).to.deep.equal(Object.keys(DOMAIN_STORAGE_TEMPERATURES))
    })

    it('carries the MIABIS term and bbmri.de code of DOMAIN.md', () => {
      for (const entry of storageTemperatures) {
        expect([entry.miabis, entry.fhir], entry.code).to.deep.equal(DOMAIN_STORAGE_TEMPERATURES[entry.code])
      }
    })

    it('has the agreed Danish labels', () => {
      expect(label(storageTemperatures, 'rt', 'da')).to.equal('Stuetemperatur')
      expect(label(storageTemperatures, '2to10', 'da')).to.equal('2 °C til 10 °C')
      expect(label(storageTemperatures, 'ln-vapor', 'da')).to.equal('Flydende nitrogen, dampfase')
    })
  })

  describe('the other vocabularies', () => {
    it('have the agreed codes', () => {
      expect(LINEAGE_CODES).to.deep.equal(['primary', 'aliquot', 'derivative'])
      expect(AVAILABILITY_CODES).to.deep.equal(['available', 'reserved', 'distributed', 'depleted', 'destroyed'])
      expect(SAMPLE_EVENT_TYPE_CODES).to.deep.equal([
        'collected',
        'received',
        'processed',
        'moved',
        'thawed',
        'frozen',
        'distributed',
        'destroyed',
        'availability_changed',
      ])
      expect(QUANTITY_UNIT_CODES).to.deep.equal(['mL', 'uL', 'mg', 'ug', 'count'])
      expect(OPT_OUT_CHOICE_CODES).to.deep.equal(['material', 'genetic'])
      expect(STAFF_ROLE_CODES).to.deep.equal(['registrar', 'biobank_admin', 'auditor'])
    })

    it('have the agreed Danish labels', () => {
      expect(lineages.map((e) => e.da)).to.deep.equal(['Primærprøve', 'Alikvot', 'Derivat'])
      expect(availabilities.map((e) => e.da)).to.deep.equal([
        'Tilgængelig',
        'Reserveret',
        'Udleveret',
        'Opbrugt',
        'Destrueret',
      ])
      expect(staffRoles.map((e) => e.da)).to.deep.equal(['Bioanalytiker/registrator', 'Biobankadministrator', 'Revisor'])
    })

    it('display quantity units with proper symbols', () => {
      expect(label(quantityUnits, 'uL', 'da')).to.equal('µL')
      expect(label(quantityUnits, 'ug', 'en')).to.equal('µg')
      expect(label(quantityUnits, 'count', 'da')).to.equal('stk.')
      expect(label(quantityUnits, 'count', 'en')).to.equal('count')
    })

    it('describe both opt-out choices in plain Danish and English', () => {
      expect(optOutDescription('material', 'da')).to.match(/egen behandling/).and.match(/ikke til forskning/)
      expect(optOutDescription('material', 'en')).to.match(/own treatment/).and.match(/not for research/)
      expect(optOutDescription('genetic', 'da')).to.match(/Genetiske oplysninger/).and.match(/forskning/)
      expect(optOutDescription('genetic', 'en')).to.match(/Genetic information/).and.match(/research/)
    })
  })

  describe('every labelled vocabulary', () => {
    for (const [name, vocabulary, codes] of allLabelled) {
      it(`${name}: unique codes, matching code tuple, Danish and English labels`, () => {
        expect(codes).to.deep.equal(vocabulary.map((e) => e.code))
        expect(new Set(codes).size).to.equal(codes.length)
        for (const entry of vocabulary) {
          expect(entry.da.trim(), `${name}.${entry.code}.da`).to.not.equal('')
          expect(entry.en.trim(), `${name}.${entry.code}.en`).to.not.equal('')
        }
      })

      it(`${name}: is frozen`, () => {
        expect(Object.isFrozen(vocabulary)).to.equal(true)
        expect(Object.isFrozen(codes)).to.equal(true)
        expect(vocabulary.every((e) => Object.isFrozen(e))).to.equal(true)
      })
    }
  })

  describe('biobanks', () => {
    it('has the five demo biobanks of DOMAIN.md', () => {
      expect(BIOBANK_CODES).to.deep.equal(['RH', 'RSJ', 'RSD', 'RM', 'RN'])
      expect(findEntry(biobanks, 'RSJ')).to.deep.equal({
        code: 'RSJ',
        name: 'Region Sjællands Biobank',
        region: 'Region Sjælland',
      })
      expect(biobanks.every((b) => b.name.startsWith('Region ') && b.region.startsWith('Region '))).to.equal(true)
    })
  })

  describe('helpers', () => {
    it('label picks the language', () => {
      expect(label(materialTypes, 'whole-blood', 'da')).to.equal('Fuldblod')
      expect(label(materialTypes, 'whole-blood', 'en')).to.equal('Whole blood')
      expect(label(availabilities, 'distributed', 'da')).to.equal('Udleveret')
    })

    it('label falls back to the code for an unknown value', () => {
      expect(label(materialTypes, 'retired-code' as MaterialType, 'da')).to.equal('retired-code')
    })

    it('isCode narrows only exact, known strings', () => {
      expect(isCode(materialTypes, 'plasma')).to.equal(true)
      expect(isCode(materialTypes, 'Plasma')).to.equal(false)
      expect(isCode(materialTypes, 'blood-plasma')).to.equal(false)
      expect(isCode(materialTypes, undefined)).to.equal(false)
      expect(isCode(materialTypes, 1)).to.equal(false)
      expect(isCode(staffRoles, 'auditor')).to.equal(true)
      expect(isCode(biobanks, 'RN')).to.equal(true)
      expect(isCode(biobanks, 'XX')).to.equal(false)
      const value: unknown = 'uL'
      if (isCode(quantityUnits, value)) {
        const unit: 'mL' | 'uL' | 'mg' | 'ug' | 'count' = value
        expect(unit).to.equal('uL')
      } else {
        expect.fail('uL is a quantity unit')
      }
    })

    it('code lists are typed tuples (tsc checks this), usable with z.enum and exhaustive switches', () => {
      const first: 'whole-blood' = MATERIAL_TYPE_CODES[0]
      const count: 16 = MATERIAL_TYPE_CODES.length
      const lastTemperature: 'other' = STORAGE_TEMPERATURE_CODES[7]
      expect([first, count, lastTemperature]).to.deep.equal(['whole-blood', 16, 'other'])
    })

    it('findEntry returns undefined for an unknown code', () => {
      expect(findEntry(materialTypes, 'plasma')?.fhir).to.equal('blood-plasma')
      expect(findEntry(materialTypes, 'nope')).to.equal(undefined)
    })
  })
})
