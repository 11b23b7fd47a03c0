// The demo citizens' own samples, opt-outs and custody, written out by hand so the demo tells a story:
//   anne  – samples in two regions (RH and RM): whole blood with two plasma aliquots and a DNA derivative, serum, FFPE tissue
//   bo    – a few samples, and both research opt-outs (material and genetic), registered digitally by himself
//   carl  – known to the register, no samples
//   dorte – a few samples; custody of emil (9) and frida (15)
//   emil, frida – children with samples
//   lav   – known to the register, no samples (signs in with too low an assurance level)
import type { BiobankCode, MaterialType, StorageTemperature } from '../server/domain/vocabulary.ts'
import { demoCitizen, demoCitizens, demoCustody } from './demoPeople.ts'
import { addHours, utc, type DemoPlan, type PlannedEvent, type PlannedSample } from './plan.ts'
import type { StorageAllocator } from './sampleProfiles.ts'

type SampleInput = Omit<PlannedSample, 'lineage' | 'parent' | 'location' | 'events' | 'availability' | 'sprec' | 'diagnosis'> &
  Partial<Pick<PlannedSample, 'lineage' | 'parent' | 'availability' | 'sprec' | 'diagnosis'>> & {
    /** Events, given the place the sample was allocated (null when it is no longer stored). */
    events: (location: string | null) => PlannedEvent[]
    stored?: boolean
  }

const ev = (type: PlannedEvent['type'], at: Date, details: Record<string, unknown> = {}): PlannedEvent => ({ type, at, details })

/** A freezer place the sample came from before it was moved (a store the generator never hands out). */
const earlierPlace = (location: string | null) => (location ?? '').replace(/^([A-Z0-9]+)-\d+\//, '$1-90/')

export function buildCitizenPlan(allocate: StorageAllocator): DemoPlan {
  const samples: PlannedSample[] = []
  const add = (input: SampleInput): PlannedSample => {
    const availability = input.availability ?? 'available'
    const stored = input.stored ?? (availability === 'available' || availability === 'reserved')
    const location = stored ? allocate.allocate(input.biobank, input.temperature) : null
    const { events, stored: _stored, ...rest } = input
    const sample: PlannedSample = {
      lineage: 'primary',
      parent: null,
      sprec: null,
      diagnosis: null,
      ...rest,
      availability,
      location,
      events: events(location),
    }
    samples.push(sample)
    return sample
  }
  const derived = (
    parent: PlannedSample,
    key: string,
    suffix: string,
    lineage: 'aliquot' | 'derivative',
    material: MaterialType,
    temperature: StorageTemperature,
    amount: [string, PlannedSample['unit']],
    extra: Partial<SampleInput> & { processedAt: Date; procedure: string },
  ) => {
    const { processedAt, procedure, ...rest } = extra
    return add({
      key,
      donor: parent.donor,
      biobank: parent.biobank,
      label: `${parent.label}-${suffix}`,
      material,
      collectedAt: parent.collectedAt,
      temperature,
      lineage,
      parent: parent.key,
      quantity: amount[0],
      unit: amount[1],
      diagnosis: parent.diagnosis,
      events: (location) => [
        ev('processed', processedAt, { procedure, source: parent.label }),
        ev('frozen', addHours(processedAt, 0.5), { temperature, location }),
      ],
      ...rest,
    })
  }
  const primary = (
    key: string,
    donor: string,
    biobank: BiobankCode,
    label: string,
    material: MaterialType,
    collected: string,
    temperature: StorageTemperature,
    amount: [string, PlannedSample['unit']],
    extra: Partial<SampleInput> & { department: string } = { department: '' },
  ) => {
    const collectedAt = utc(collected)
    const { department, ...rest } = extra
    return add({
      key,
      donor,
      biobank,
      label,
      material,
      collectedAt,
      temperature,
      quantity: amount[0],
      unit: amount[1],
      events: (location) => [
        ev('collected', collectedAt, { department }),
        ev('received', addHours(collectedAt, 1.5), { biobank }),
        ...(temperature === 'rt' || temperature === '2to10' ? [] : [ev('frozen', addHours(collectedAt, 3), { temperature, location })]),
      ],
      ...rest,
    })
  }

  // anne: breast cancer, treated at Rigshospitalet (RH) and earlier operated in Aarhus (RM).
  const anneBlood = primary('anne-blood', 'anne', 'RH', 'RH-2024-000123', 'whole-blood', '2024-03-12T08:40', '-60to-85', ['4.000', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Rigshospitalet',
    sprec: 'BLD-PED-A-N-N-N-D',
    diagnosis: 'C50.9',
    events: (location) => [
      ev('collected', utc('2024-03-12T08:40'), { department: 'Klinisk Biokemisk Afdeling, Rigshospitalet' }),
      ev('received', utc('2024-03-12T10:05'), { biobank: 'RH' }),
      ev('processed', utc('2024-03-12T11:30'), { procedure: 'Centrifugering: plasma udskilt; DNA-ekstraktion' }),
      ev('frozen', utc('2024-03-12T12:10'), { temperature: '-60to-85', location: earlierPlace(location) }),
      ev('moved', utc('2025-01-20T09:15'), { from: earlierPlace(location), to: location }),
    ],
  })
  derived(anneBlood, 'anne-plasma-1', '01', 'aliquot', 'plasma', '-60to-85', ['0.500', 'mL'], {
    processedAt: utc('2024-03-12T11:30'),
    procedure: 'Centrifugering (2000 g, 10 min)',
    sprec: 'PL1-PED-A-D-N-A-D',
  })
  derived(anneBlood, 'anne-plasma-2', '02', 'aliquot', 'plasma', '-60to-85', ['0.500', 'mL'], {
    processedAt: utc('2024-03-12T11:30'),
    procedure: 'Centrifugering (2000 g, 10 min)',
    sprec: 'PL1-PED-A-D-N-A-D',
    availability: 'reserved',
    events: (location) => [
      ev('processed', utc('2024-03-12T11:30'), { procedure: 'Centrifugering (2000 g, 10 min)', source: 'RH-2024-000123' }),
      ev('frozen', utc('2024-03-12T12:00'), { temperature: '-60to-85', location }),
      ev('availability_changed', utc('2025-11-03T13:20'), { from: 'available', to: 'reserved', reason: 'Reserveret til analyse' }),
    ],
  })
  derived(anneBlood, 'anne-dna', '03', 'derivative', 'dna', '-18to-35', ['42.500', 'ug'], {
    processedAt: utc('2024-03-14T09:00'),
    procedure: 'DNA-ekstraktion (søjle)',
  })
  primary('anne-serum', 'anne', 'RH', 'RH-2021-004512', 'serum', '2021-09-07T07:55', '-60to-85', ['1.800', 'mL'], {
    department: 'Onkologisk Klinik, Rigshospitalet',
    sprec: 'SER-SST-A-D-N-A-D',
    diagnosis: 'C50.9',
    events: (location) => [
      ev('collected', utc('2021-09-07T07:55'), { department: 'Onkologisk Klinik, Rigshospitalet' }),
      ev('received', utc('2021-09-07T09:30'), { biobank: 'RH' }),
      ev('frozen', utc('2021-09-07T10:45'), { temperature: '-60to-85', location: earlierPlace(location) }),
      ev('thawed', utc('2023-02-01T08:00'), { reason: 'Delprøve udtaget til analyse' }),
      ev('frozen', utc('2023-02-01T09:10'), { temperature: '-60to-85', location: earlierPlace(location) }),
      ev('moved', utc('2024-06-18T14:00'), { from: earlierPlace(location), to: location }),
    ],
  })
  primary('anne-ffpe', 'anne', 'RM', 'RM-2019-000871', 'tissue-ffpe', '2019-05-20T10:30', 'rt', ['2', 'count'], {
    department: 'Patologisk Afdeling, Aarhus Universitetshospital',
    diagnosis: 'C50.4',
    events: (location) => [
      ev('collected', utc('2019-05-20T10:30'), { department: 'Mammakirurgi, Aarhus Universitetshospital' }),
      ev('received', utc('2019-05-20T14:00'), { biobank: 'RM' }),
      ev('processed', utc('2019-05-22T09:00'), { procedure: 'Formalinfiksering og paraffinindstøbning' }),
      ev('moved', utc('2020-02-10T10:00'), { from: 'Patologisk Afdeling', to: location }),
    ],
  })

  // bo: a few samples in the south and north; he has opted out of both (see optOuts below).
  primary('bo-serum', 'bo', 'RSD', 'RSD-2022-013377', 'serum', '2022-11-02T09:10', '-60to-85', ['1.000', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Odense Universitetshospital',
    sprec: 'SER-SST-B-D-N-A-D',
    diagnosis: 'E11.9',
  })
  primary('bo-urine', 'bo', 'RSD', 'RSD-2022-013378', 'urine', '2022-11-02T09:15', '-18to-35', ['10', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Odense Universitetshospital',
    sprec: 'URN-XXX-A-N-N-N-E',
  })
  const boBlood = primary('bo-blood', 'bo', 'RN', 'RN-2025-002201', 'whole-blood', '2025-04-29T07:45', '-60to-85', ['6.000', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Aalborg Universitetshospital',
  })
  derived(boBlood, 'bo-dna', '01', 'derivative', 'dna', '-18to-35', ['30.000', 'ug'], {
    processedAt: utc('2025-05-02T10:00'),
    procedure: 'DNA-ekstraktion (søjle)',
  })

  // dorte: blood with a buffy coat, serum (part sent to a research project), a swab that was destroyed.
  const dorteBlood = primary('dorte-blood', 'dorte', 'RSJ', 'RSJ-2023-008840', 'whole-blood', '2023-01-16T08:20', '-60to-85', ['3.500', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Sjællands Universitetshospital',
    sprec: 'BLD-PED-A-N-N-N-D',
    diagnosis: 'O14.1',
  })
  derived(dorteBlood, 'dorte-buffy', '01', 'derivative', 'buffy-coat', '-60to-85', ['0.500', 'mL'], {
    processedAt: utc('2023-01-16T11:00'),
    procedure: 'Centrifugering; buffy coat udtaget',
    sprec: 'BUF-PED-A-D-N-A-D',
  })
  primary('dorte-serum', 'dorte', 'RSJ', 'RSJ-2023-008841', 'serum', '2023-01-16T08:20', '-60to-85', ['0.500', 'mL'], {
    department: 'Klinisk Biokemisk Afdeling, Sjællands Universitetshospital',
    sprec: 'SER-SST-A-D-N-A-D',
    availability: 'distributed',
    events: () => [
      ev('collected', utc('2023-01-16T08:20'), { department: 'Klinisk Biokemisk Afdeling, Sjællands Universitetshospital' }),
      ev('received', utc('2023-01-16T09:40'), { biobank: 'RSJ' }),
      ev('frozen', utc('2023-01-16T11:15'), { temperature: '-60to-85', location: 'FRYS80-90/R02/B07/C4' }),
      ev('distributed', utc('2025-03-04T10:00'), { to: 'Forskningsprojekt om præeklampsi, Københavns Universitet', reference: 'RP-2025-017' }),
    ],
  })
  primary('dorte-swab', 'dorte', 'RH', 'RH-2020-087311', 'swab', '2020-11-23T12:05', '2to10', ['1', 'count'], {
    department: 'Testcenter, Region Hovedstaden',
    diagnosis: 'U07.1',
    availability: 'destroyed',
    events: () => [
      ev('collected', utc('2020-11-23T12:05'), { department: 'Testcenter, Region Hovedstaden' }),
      ev('received', utc('2020-11-23T16:30'), { biobank: 'RH' }),
      ev('destroyed', utc('2022-12-01T08:00'), { reason: 'Opbevaringstiden udløbet' }),
    ],
  })

  // emil (9) and frida (15): samples from childhood, taken in Region Sjælland.
  primary('emil-blood', 'emil', 'RSJ', 'RSJ-2023-010212', 'whole-blood', '2023-08-30T09:00', '-60to-85', ['2.000', 'mL'], {
    department: 'Børne- og Ungeafdelingen, Holbæk Sygehus',
    sprec: 'BLD-PED-B-N-N-N-D',
    diagnosis: 'E10.9',
  })
  primary('emil-saliva', 'emil', 'RSJ', 'RSJ-2025-001944', 'saliva', '2025-02-11T10:30', '-18to-35', ['1.500', 'mL'], {
    department: 'Børne- og Ungeafdelingen, Holbæk Sygehus',
  })
  primary('frida-urine', 'frida', 'RSJ', 'RSJ-2020-004418', 'urine', '2020-06-08T08:45', '-60to-85', ['20', 'mL'], {
    department: 'Børneambulatoriet, Roskilde Sygehus',
    sprec: 'URN-XXX-A-N-N-N-D',
  })
  const fridaBlood = primary('frida-blood', 'frida', 'RH', 'RH-2024-031877', 'whole-blood', '2024-10-01T08:15', '-60to-85', ['3.000', 'mL'], {
    department: 'Børne- og Ungeafdelingen, Herlev Hospital',
    diagnosis: 'J45.9',
  })
  derived(fridaBlood, 'frida-plasma', '01', 'aliquot', 'plasma', '-60to-85', ['0.800', 'mL'], {
    processedAt: utc('2024-10-01T10:00'),
    procedure: 'Centrifugering (2000 g, 10 min)',
    sprec: 'PL1-PED-A-D-N-A-D',
  })

  return {
    donors: demoCitizens.map((c) => ({ key: c.userId, cpr: c.cpr })),
    samples,
    optOuts: [
      {
        donor: 'bo',
        events: [
          { choice: 'material', optedOut: true, at: utc('2026-02-10T19:02:11') },
          { choice: 'genetic', optedOut: true, at: utc('2026-02-10T19:03:40') },
        ],
      },
    ],
    custody: demoCustody.map((c) => ({ parentCpr: demoCitizen(c.parent).cpr, child: c.child, childName: demoCitizen(c.child).name })),
  }
}
