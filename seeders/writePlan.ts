// Stores a DemoPlan: biobanks, donors (CPR only as HMAC + ciphertext), samples (parents first), events, opt-outs with
// their receipts, custody. Donor and sample ids are given explicitly (after any rows already there), so a sample can
// name its parent in the same insert; the identity sequences are moved past them at the end.
import type { Transaction } from 'sequelize'
import { parseCpr } from '../server/domain/cpr.ts'
import { biobanks, type OptOutChoice } from '../server/domain/vocabulary.ts'
import type { Services } from '../server/services/index.ts'
import { isoDate, receiptReference } from './fictitiousCpr.ts'
import type { DemoPlan } from './plan.ts'

const CHUNK = 500

async function maxId(services: Services, table: 'donors' | 'samples', transaction: Transaction): Promise<number> {
  const [rows] = await services.database.sequelize.query(`select coalesce(max(id), 0) as max from ${table}`, { transaction })
  return Number((rows as { max: number | string }[])[0]?.max ?? 0)
}

/** Moves an identity sequence past the largest id, so later inserts without an id do not collide. */
export async function syncIdentity(services: Services, table: 'donors' | 'samples', transaction: Transaction): Promise<void> {
  await services.database.sequelize.query(
    `select setval(pg_get_serial_sequence('${table}', 'id'), greatest((select max(id) from ${table}), 1), (select max(id) from ${table}) is not null)`,
    { transaction },
  )
}

/** Ensures the five biobanks exist; returns their ids by code. */
export async function ensureBiobanks(services: Services, transaction?: Transaction): Promise<Map<string, number>> {
  const { sequelize } = services.database
  await sequelize.query(
    `insert into biobanks (code, name, region) select * from unnest(array[:codes]::text[], array[:names]::text[], array[:regions]::text[]) on conflict (code) do nothing`,
    {
      replacements: { codes: biobanks.map((b) => b.code), names: biobanks.map((b) => b.name), regions: biobanks.map((b) => b.region) },
      transaction,
    },
  )
  const [rows] = await sequelize.query('select id, code from biobanks', { transaction })
  return new Map((rows as { id: number; code: string }[]).map((r) => [r.code, Number(r.id)]))
}

export async function writePlan(services: Services, plan: DemoPlan, transaction: Transaction): Promise<void> {
  const { Donor, Sample, SampleEvent, OptOut, OptOutEvent, Custody } = services.database.models
  const biobankIds = await ensureBiobanks(services, transaction)

  const donorBase = await maxId(services, 'donors', transaction)
  const donorIds = new Map<string, number>()
  const donorRows = plan.donors.map((donor, i) => {
    const parsed = parseCpr(donor.cpr)
    if (!parsed.ok) throw new Error(`demo donor ${donor.key} has an invalid CPR number (${parsed.error})`)
    if (donorIds.has(donor.key)) throw new Error(`demo donor ${donor.key} is planned twice`)
    const id = donorBase + i + 1
    donorIds.set(donor.key, id)
    return { id, cprHmac: services.cpr.hash(parsed.cpr), cprEncrypted: services.cpr.encrypt(parsed.cpr), birthDate: isoDate(parsed.birthDate) }
  })
  const donorId = (key: string) => {
    const id = donorIds.get(key)
    if (id === undefined) throw new Error(`demo data names an unknown donor ${key}`)
    return id
  }

  const sampleBase = await maxId(services, 'samples', transaction)
  const samples = new Map<string, { id: number; donor: string }>()
  const sampleRows = plan.samples.map((sample, i) => {
    const id = sampleBase + i + 1
    let parentId: number | null = null
    if (sample.parent !== null) {
      const parent = samples.get(sample.parent)
      if (!parent || parent.donor !== sample.donor) throw new Error(`demo sample ${sample.key} needs an earlier parent of the same donor`)
      parentId = parent.id
    }
    if ((sample.lineage === 'primary') !== (parentId === null)) throw new Error(`demo sample ${sample.key}: lineage and parent disagree`)
    const biobankId = biobankIds.get(sample.biobank)
    if (biobankId === undefined) throw new Error(`demo sample ${sample.key}: unknown biobank ${sample.biobank}`)
    samples.set(sample.key, { id, donor: sample.donor })
    return {
      id,
      biobankId,
      label: sample.label,
      donorId: donorId(sample.donor),
      materialType: sample.material,
      collectedAt: sample.collectedAt,
      storageTemperature: sample.temperature,
      lineage: sample.lineage,
      parentId,
      quantity: sample.quantity,
      quantityUnit: sample.unit,
      storageLocation: sample.location,
      sprec: sample.sprec,
      diagnosis: sample.diagnosis,
      availability: sample.availability,
    }
  })
  const eventRows = plan.samples.flatMap((sample) =>
    sample.events.map((event) => ({ sampleId: samples.get(sample.key)!.id, eventType: event.type, occurredAt: event.at, details: event.details, staffUserId: null })),
  )

  const optOutRows: { donorId: number; material: boolean; genetic: boolean; updatedAt: Date }[] = []
  const optOutEventRows = plan.optOuts.flatMap((optOut) => {
    const id = donorId(optOut.donor)
    const state: Record<OptOutChoice, boolean> = { material: false, genetic: false }
    const rows = optOut.events.map((event, n) => {
      state[event.choice] = event.optedOut
      return {
        donorId: id,
        choice: event.choice,
        optedOut: event.optedOut,
        channel: 'digital' as const,
        actedBy: 'self' as const,
        actedByDonorId: null,
        actedByStaffId: null,
        // Unique across the demo and bulk data: derived from the (unique) donor id and the event's number.
        receiptReference: receiptReference(event.at.getUTCFullYear(), id * 4 + n),
        materialAfter: state.material,
        geneticAfter: state.genetic,
        createdAt: event.at,
      }
    })
    optOutRows.push({ donorId: id, material: state.material, genetic: state.genetic, updatedAt: optOut.events.at(-1)!.at })
    return rows
  })

  const options = { transaction, returning: false, validate: false }
  for (let i = 0; i < donorRows.length; i += CHUNK) await Donor.bulkCreate(donorRows.slice(i, i + CHUNK), options)
  for (let i = 0; i < sampleRows.length; i += CHUNK) await Sample.bulkCreate(sampleRows.slice(i, i + CHUNK), options)
  for (let i = 0; i < eventRows.length; i += CHUNK) await SampleEvent.bulkCreate(eventRows.slice(i, i + CHUNK), options)
  await OptOut.bulkCreate(optOutRows, options)
  await OptOutEvent.bulkCreate(optOutEventRows, options)
  await Custody.bulkCreate(
    plan.custody.map((c) => ({ parentCprHmac: services.cpr.hash(c.parentCpr), childDonorId: donorId(c.child), childName: c.childName })),
    options,
  )
  await syncIdentity(services, 'donors', transaction)
  await syncIdentity(services, 'samples', transaction)
}
