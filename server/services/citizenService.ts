// The citizen's window: whose data a request may show (oneself, or a child under 15 in one's custody), that
// person's samples, a sample's story, who has accessed the data, and everything held as a download.
// Every method takes a CitizenSubject, which only resolveSubject can make: there is no way to ask for
// another person's data without passing the custody check.
import { QueryTypes, type Transaction } from 'sequelize'
import type { ServiceDeps } from './serviceDeps.ts'
import type { CitizenSessionUser } from './authService.ts'
import { researchUse, type OptOutState, type ResearchUse } from '../domain/researchUse.ts'
import type { Availability, Lineage, MaterialType, QuantityUnit, StorageTemperature } from '../domain/vocabulary.ts'
import { OUTCOME_CODES } from './eligibilityService.ts'

declare const subjectBrand: unique symbol

/** Whose data this request is about, and who is acting. */
export interface CitizenSubject {
  readonly [subjectBrand]: true
  /** The person whose data is shown or changed. */
  readonly donorId: number
  /** The signed-in citizen. */
  readonly actor: { readonly donorId: number; readonly name: string }
  readonly actedBy: 'self' | 'parent'
  /** Set when a parent acts for a child. */
  readonly childName?: string
}

export interface Child {
  donorId: number
  name: string
  birthDate: string
}

export interface CitizenSample {
  publicId: string
  label: string
  materialType: MaterialType
  storageTemperature: StorageTemperature
  collectedAt: Date
  lineage: Lineage
  availability: Availability
  quantity: string | null
  quantityUnit: QuantityUnit | null
  biobank: { code: string; name: string; region: string }
  researchUse: ResearchUse
  /** Aliquots and derivatives made from this sample. */
  children: CitizenSample[]
}

export interface BiobankGroup {
  biobank: { code: string; name: string; region: string }
  samples: CitizenSample[]
}

export interface AccessEntry {
  at: Date
  action: string
  actor: { kind: 'citizen' | 'staff' | 'api_client' | 'system'; self: boolean; parent: boolean; organisation: string | null; role: string | null }
  sampleLabel: string | null
  purpose: string | null
  project: string | null
  outcome: string | null
}

export interface SampleEventEntry {
  type: string
  at: Date
  organisation: string | null
}

/** Primary samples per page; their aliquots and derivatives are shown with them. */
export const SAMPLES_PER_PAGE = 50
const ACCESS_LOG_LIMIT = 500
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface SampleRow {
  id: number
  public_id: string
  label: string
  material_type: MaterialType
  storage_temperature: StorageTemperature
  collected_at: Date
  lineage: Lineage
  parent_id: number | null
  availability: Availability
  quantity: string | null
  quantity_unit: QuantityUnit | null
  code: string
  name: string
  region: string
}

export function createCitizenService(deps: ServiceDeps) {
  const { database, audit, cpr } = deps
  const { sequelize } = database

  const select = <T extends object>(sql: string, replacements: Record<string, unknown>, transaction?: Transaction) =>
    sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction })

  async function children(user: CitizenSessionUser): Promise<Child[]> {
    // Custody comes from the CPR register keyed by the parent's CPR HMAC; it grants nothing once the child is 15.
    const rows = await select<{ donor_id: number; child_name: string; birth_date: string }>(
      `select c.child_donor_id as donor_id, c.child_name, child.birth_date
         from donors parent
         join custody c on c.parent_cpr_hmac = parent.cpr_hmac
         join donors child on child.id = c.child_donor_id
        where parent.id = :parent
          and child.birth_date > ((now() at time zone 'Europe/Copenhagen')::date - interval '15 years')
        order by child.birth_date desc`,
      { parent: user.donorId },
    )
    return rows.map((r) => ({ donorId: Number(r.donor_id), name: r.child_name, birthDate: r.birth_date }))
  }

  async function choicesOf(donorId: number, transaction?: Transaction): Promise<OptOutState & { updatedAt: Date | null }> {
    const [row] = await select<{ material: boolean; genetic: boolean; updated_at: Date }>(
      'select material, genetic, updated_at from opt_outs where donor_id = :donorId',
      { donorId },
      transaction,
    )
    return { material: row?.material ?? false, genetic: row?.genetic ?? false, updatedAt: row?.updated_at ?? null }
  }

  async function sampleRows(donorId: number): Promise<SampleRow[]> {
    return select<SampleRow>(
      `select s.id, s.public_id, s.label, s.material_type, s.storage_temperature, s.collected_at, s.lineage, s.parent_id,
              s.availability, s.quantity::text as quantity, s.quantity_unit, b.code, b.name, b.region
         from samples s join biobanks b on b.id = s.biobank_id
        where s.donor_id = :donorId
        order by b.region, s.collected_at desc, s.id`,
      { donorId },
    )
  }

  /** Samples as trees (aliquots and derivatives under their parent), primary samples in the given order. */
  function buildTrees(rows: SampleRow[], choices: OptOutState): CitizenSample[] {
    const byId = new Map<number, CitizenSample>()
    for (const r of rows) {
      byId.set(Number(r.id), {
        publicId: r.public_id,
        label: r.label,
        materialType: r.material_type,
        storageTemperature: r.storage_temperature,
        collectedAt: r.collected_at,
        lineage: r.lineage,
        availability: r.availability,
        quantity: r.quantity,
        quantityUnit: r.quantity_unit,
        biobank: { code: r.code, name: r.name, region: r.region },
        researchUse: researchUse(choices, r.availability),
        children: [],
      })
    }
    const roots: CitizenSample[] = []
    for (const r of rows) {
      const sample = byId.get(Number(r.id))!
      const parent = r.parent_id === null ? undefined : byId.get(Number(r.parent_id))
      if (parent) parent.children.push(sample)
      else roots.push(sample)
    }
    // Children in the order they were made.
    const sortChildren = (s: CitizenSample) => {
      s.children.sort((a, b) => a.collectedAt.getTime() - b.collectedAt.getTime() || a.label.localeCompare(b.label))
      s.children.forEach(sortChildren)
    }
    roots.forEach(sortChildren)
    return roots
  }

  async function recordView(subject: CitizenSubject, page: string, requestId?: string, sampleId?: number, transaction?: Transaction) {
    await audit.record(
      {
        actor: { kind: 'citizen', donorId: subject.actor.donorId },
        action: 'citizen.view',
        subjectDonorId: subject.donorId,
        sampleId: sampleId ?? null,
        details: { page, actedBy: subject.actedBy },
        requestId,
      },
      transaction,
    )
  }

  async function accessLog(subject: CitizenSubject, limit = ACCESS_LOG_LIMIT, sampleId?: number): Promise<AccessEntry[]> {
    // Everything anyone else did with the person's data or samples; the person's own page views are left out.
    const rows = await select<{
      occurred_at: Date
      action: string
      actor_kind: AccessEntry['actor']['kind']
      actor_donor_id: number | null
      details: Record<string, unknown>
      label: string | null
      role: string | null
      organisation: string | null
    }>(
      `with mine as (
         select a.* from audit_events a where a.subject_donor_id = :donorId ${sampleId ? 'and a.sample_id = :sampleId' : ''}
         union
         select a.* from audit_events a join samples s on s.id = a.sample_id
          where s.donor_id = :donorId ${sampleId ? 'and a.sample_id = :sampleId' : ''}
       ), my_samples as materialized (
         select coalesce(array_agg(id), '{}') as ids from samples where donor_id = :donorId ${sampleId ? 'and id = :sampleId' : ''}
       ), considered as (
         -- The chunks that hold one of the person's samples: found by the index by sample id, and for a check not
         -- indexed yet (the seconds after it committed; see eligibilityService.indexChecks) in its chunks directly.
         -- (The checks not indexed yet as an array, so their chunks are read by primary key: a join let the planner
         -- scan every chunk in parallel, 10 ms more for each page even when every check was indexed.)
         select i.check_id, i.chunk from eligibility_check_samples i where i.sample_ids && (select ids from my_samples)
         union all
         select k.check_id, k.chunk from eligibility_check_chunks k
          where k.check_id = any (array(select c.id from eligibility_checks c
                                         where not exists (select from eligibility_check_samples x where x.check_id = c.id)))
            and k.sample_ids && (select ids from my_samples)
       )
       select * from (
         select m.occurred_at, lpad(m.id::text, 20, '0') as sort_id, m.action, m.actor_kind, m.actor_donor_id, m.details, s.label, su.role, b.name as organisation
           from mine m
           left join samples s on s.id = m.sample_id
           left join staff_users su on su.id = m.actor_staff_id
           left join biobanks b on b.id = su.biobank_id
          where not (m.actor_kind = 'citizen' and m.actor_donor_id = :donorId)
            and not (m.actor_kind = 'citizen' and m.action in ('citizen.view', 'citizen.login', 'citizen.logout'))
         union all
         -- Every research eligibility check that considered one of the person's samples, and its outcome, from the
         -- chunks of stored answers that hold one of their sample ids.
         select c.created_at, c.id::text || ':' || i.position, 'eligibility.check',
                case when c.api_client_id is null then 'staff' else 'api_client' end, null,
                jsonb_build_object('project', p.title, 'outcome', case when i.outcome = '${OUTCOME_CODES.eligible}' then 'included' else 'excluded' end),
                s.label, case when c.api_client_id is null then 'biobank_admin' end, b.name
           from considered f
           join eligibility_check_chunks k on k.check_id = f.check_id and k.chunk = f.chunk
          cross join lateral unnest(k.positions, k.sample_ids, k.outcomes) as i (position, sample_id, outcome)
           join samples s on s.id = i.sample_id
           join eligibility_checks c on c.id = k.check_id
           join research_projects p on p.id = c.project_id
           join biobanks b on b.id = p.biobank_id
          where s.donor_id = :donorId ${sampleId ? 'and s.id = :sampleId' : ''}
       ) entries
       order by occurred_at desc, sort_id desc
        limit :limit`,
      { donorId: subject.donorId, sampleId: sampleId ?? null, limit },
    )
    return rows.map((r) => {
      const str = (v: unknown) => (typeof v === 'string' ? v : null)
      return {
        at: r.occurred_at,
        action: r.action,
        actor: {
          kind: r.actor_kind,
          self: r.actor_kind === 'citizen' && Number(r.actor_donor_id) === subject.donorId,
          parent: r.actor_kind === 'citizen' && Number(r.actor_donor_id) !== subject.donorId,
          organisation: r.organisation ?? str(r.details.organisation),
          role: r.role,
        },
        sampleLabel: r.label,
        purpose: str(r.details.purpose),
        project: str(r.details.project),
        outcome: str(r.details.outcome),
      }
    })
  }

  return {
    children,
    choicesOf,

    /**
     * The subject of a request: the signed-in citizen, or a child in their custody who is under 15 today.
     * Returns `childNoLongerAvailable` when the session names a child the parent may no longer act for.
     */
    async resolveSubject(user: CitizenSessionUser, actingForDonorId?: number): Promise<CitizenSubject | 'childNoLongerAvailable'> {
      const actor = { donorId: user.donorId, name: user.name }
      if (actingForDonorId === undefined || actingForDonorId === user.donorId) {
        return { donorId: user.donorId, actor, actedBy: 'self' } as CitizenSubject
      }
      const child = (await children(user)).find((c) => c.donorId === actingForDonorId)
      if (!child) return 'childNoLongerAvailable'
      return { donorId: child.donorId, actor, actedBy: 'parent', childName: child.name } as CitizenSubject
    },

    /** The person's samples grouped by biobank, primary samples paged; `total` counts primary samples. */
    async samples(subject: CitizenSubject, page: number, requestId?: string) {
      const choices = await choicesOf(subject.donorId)
      const roots = buildTrees(await sampleRows(subject.donorId), choices)
      const pages = Math.max(1, Math.ceil(roots.length / SAMPLES_PER_PAGE))
      const current = Math.min(Math.max(1, Math.floor(page) || 1), pages)
      const shown = roots.slice((current - 1) * SAMPLES_PER_PAGE, current * SAMPLES_PER_PAGE)
      const groups: BiobankGroup[] = []
      for (const sample of shown) {
        const last = groups.at(-1)
        if (last?.biobank.code === sample.biobank.code) last.samples.push(sample)
        else groups.push({ biobank: sample.biobank, samples: [sample] })
      }
      const count = (list: CitizenSample[]): number => list.reduce((n, s) => n + 1 + count(s.children), 0)
      await recordView(subject, 'samples', requestId)
      return { groups, choices, page: current, pages, totalPrimary: roots.length, total: count(roots) }
    },

    /** One sample of the subject with its events and who accessed it; null for any sample not theirs. */
    async sample(subject: CitizenSubject, publicId: string, requestId?: string) {
      if (!UUID.test(publicId)) return null
      const [row] = await select<SampleRow & { parent_public_id: string | null; parent_label: string | null }>(
        `select s.id, s.public_id, s.label, s.material_type, s.storage_temperature, s.collected_at, s.lineage, s.parent_id,
                s.availability, s.quantity::text as quantity, s.quantity_unit, b.code, b.name, b.region,
                p.public_id as parent_public_id, p.label as parent_label
           from samples s join biobanks b on b.id = s.biobank_id left join samples p on p.id = s.parent_id
          where s.public_id = :publicId and s.donor_id = :donorId`,
        { publicId, donorId: subject.donorId },
      )
      if (!row) return null
      const choices = await choicesOf(subject.donorId)
      const [sample] = buildTrees([{ ...row, parent_id: null }], choices)
      const derived = await select<{ public_id: string; label: string; material_type: MaterialType; lineage: Lineage }>(
        'select public_id, label, material_type, lineage from samples where parent_id = :id and donor_id = :donorId order by collected_at, label',
        { id: row.id, donorId: subject.donorId },
      )
      const events = await select<{ event_type: string; occurred_at: Date; organisation: string | null }>(
        `select e.event_type, e.occurred_at, b.name as organisation
           from sample_events e left join staff_users su on su.id = e.staff_user_id left join biobanks b on b.id = su.biobank_id
          where e.sample_id = :id order by e.occurred_at, e.id`,
        { id: row.id },
      )
      const accesses = await accessLog(subject, ACCESS_LOG_LIMIT, Number(row.id))
      await recordView(subject, 'sample', requestId, Number(row.id))
      return {
        sample: sample!,
        parent: row.parent_public_id ? { publicId: row.parent_public_id, label: row.parent_label! } : null,
        derived: derived.map((d) => ({ publicId: d.public_id, label: d.label, materialType: d.material_type, lineage: d.lineage })),
        events: [
          // The collection itself is the first chapter of every sample's story.
          { type: 'collected', at: row.collected_at, organisation: row.name },
          ...events.filter((e) => e.event_type !== 'collected').map((e) => ({ type: e.event_type, at: e.occurred_at, organisation: e.organisation ?? row.name })),
        ] satisfies SampleEventEntry[],
        accesses,
      }
    },

    async accessLog(subject: CitizenSubject, requestId?: string): Promise<AccessEntry[]> {
      const entries = await accessLog(subject)
      await recordView(subject, 'access_log', requestId)
      return entries
    },

    /** Everything held about the subject (GDPR art. 15), as plain data. */
    async everything(subject: CitizenSubject, requestId?: string) {
      const rows = await sampleRows(subject.donorId)
      const choices = await choicesOf(subject.donorId)
      const [donor] = await select<{ cpr_encrypted: Buffer; birth_date: string; created_at: Date }>(
        'select cpr_encrypted, birth_date, created_at from donors where id = :donorId',
        { donorId: subject.donorId },
      )
      const events = await select<{ sample_id: number; event_type: string; occurred_at: Date; details: Record<string, unknown> }>(
        `select e.sample_id, e.event_type, e.occurred_at, e.details from sample_events e join samples s on s.id = e.sample_id
          where s.donor_id = :donorId order by e.occurred_at, e.id`,
        { donorId: subject.donorId },
      )
      const history = await select<Record<string, unknown>>(
        `select receipt_reference, choice, opted_out, channel, acted_by, acted_by_name, material_after, genetic_after, created_at
           from opt_out_events where donor_id = :donorId order by id`,
        { donorId: subject.donorId },
      )
      const log = await accessLog(subject, 100_000)
      const publicIdOf = new Map(rows.map((r) => [Number(r.id), r.public_id]))
      const custodyChildren = subject.actedBy === 'self' ? await children({ kind: 'citizen', donorId: subject.donorId, name: '', loa: 'Substantial' }) : []
      await audit.record({
        actor: { kind: 'citizen', donorId: subject.actor.donorId },
        action: 'citizen.download',
        subjectDonorId: subject.donorId,
        details: { actedBy: subject.actedBy },
        requestId,
      })
      return {
        person: { cpr: donor ? cpr.decrypt(donor.cpr_encrypted) : null, birthDate: donor?.birth_date ?? null, registeredAt: donor?.created_at ?? null },
        samples: rows.map((r) => ({
          publicId: r.public_id,
          label: r.label,
          biobank: { code: r.code, name: r.name, region: r.region },
          materialType: r.material_type,
          storageTemperature: r.storage_temperature,
          collectedAt: r.collected_at,
          lineage: r.lineage,
          parentPublicId: r.parent_id === null ? null : (publicIdOf.get(Number(r.parent_id)) ?? null),
          quantity: r.quantity,
          quantityUnit: r.quantity_unit,
          availability: r.availability,
          researchUse: researchUse(choices, r.availability),
          events: events
            .filter((e) => Number(e.sample_id) === Number(r.id))
            .map((e) => ({ type: e.event_type, at: e.occurred_at, details: e.details })),
        })),
        choices,
        choiceHistory: history.map((h) => ({
          receiptReference: h.receipt_reference,
          choice: h.choice,
          optedOut: h.opted_out,
          channel: h.channel,
          actedBy: h.acted_by,
          actedByName: h.acted_by_name,
          materialAfter: h.material_after,
          geneticAfter: h.genetic_after,
          at: h.created_at,
        })),
        accessLog: log,
        children: custodyChildren.map((c) => ({ name: c.name, birthDate: c.birthDate })),
      }
    },
  }
}

export type CitizenService = ReturnType<typeof createCitizenService>
