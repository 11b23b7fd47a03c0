// Research opt-out (VAR, Sundhedsloven § 29): two independent choices, each changed on its own, each change
// committed with its receipt and audit event in one transaction before anyone is shown the receipt.
// A change is idempotent per form: the form carries a one-time token, and the same token never makes a
// second change (double click, back button, resubmission), it shows the first receipt again.
import crypto from 'node:crypto'
import { QueryTypes, type Transaction } from 'sequelize'
import type { ServiceDeps } from './serviceDeps.ts'
import type { CitizenSubject } from './citizenService.ts'
import type { OptOutChoice } from '../domain/vocabulary.ts'
import type { OptOutState } from '../domain/researchUse.ts'
import { maskCpr, parseCpr, type CprError } from '../domain/cpr.ts'
import { danishDate } from '../domain/formatting.ts'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay } from './authorization.ts'

export type OptOutActor =
  | { kind: 'citizen'; subject: CitizenSubject }
  | { kind: 'staff'; staffUserId: number; name: string; donorId: number }

export interface Receipt {
  reference: string
  at: Date
  choice: OptOutChoice
  optedOut: boolean
  /** The choices in force after this change. */
  material: boolean
  genetic: boolean
  channel: 'digital' | 'paper'
  actedBy: 'self' | 'parent' | 'staff'
  actedByName: string | null
}

export type ChangeResult =
  | { outcome: 'changed'; receipt: Receipt }
  /** The same form was sent again: nothing changed, here is the receipt of the first submission. */
  | { outcome: 'repeated'; receipt: Receipt }
  /** The choice already had the requested value (e.g. changed in another tab): nothing changed. */
  | { outcome: 'unchanged'; choices: OptOutState }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// Crockford's base32: no I, L, O or U, so a reference read aloud on the phone is not misheard.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** `VAR-2026-7K3MQ9XZ`: the year in Denmark and 8 random characters (40 bits). */
export function newReceiptReference(now: Date = new Date()): string {
  const bytes = crypto.randomBytes(8)
  let code = ''
  for (const byte of bytes) code += ALPHABET[byte % 32]
  return `VAR-${danishDate(now).slice(0, 4)}-${code}`
}

export const isFormToken = (value: unknown): value is string => typeof value === 'string' && UUID.test(value)

interface EventRow {
  receipt_reference: string
  created_at: Date
  choice: OptOutChoice
  opted_out: boolean
  material_after: boolean
  genetic_after: boolean
  channel: 'digital' | 'paper'
  acted_by: 'self' | 'parent' | 'staff'
  acted_by_name: string | null
}

const EVENT_COLUMNS = 'receipt_reference, created_at, choice, opted_out, material_after, genetic_after, channel, acted_by, acted_by_name'

function toReceipt(row: EventRow): Receipt {
  return {
    reference: row.receipt_reference,
    at: row.created_at,
    choice: row.choice,
    optedOut: row.opted_out,
    material: row.material_after,
    genetic: row.genetic_after,
    channel: row.channel,
    actedBy: row.acted_by,
    actedByName: row.acted_by_name,
  }
}

export function createOptOutService(deps: ServiceDeps) {
  const { database, audit, cpr } = deps
  const { sequelize } = database

  const select = <T extends object>(sql: string, replacements: Record<string, unknown>, transaction?: Transaction) =>
    sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction })

  async function change(
    actor: OptOutActor,
    request: { choice: OptOutChoice; optOut: boolean; formToken: string; requestId?: string },
  ): Promise<ChangeResult> {
    if (!isFormToken(request.formToken)) throw new TypeError('form token must be a UUID')
    const donorId = actor.kind === 'citizen' ? actor.subject.donorId : actor.donorId
    return sequelize.transaction(async (transaction) => {
      // The person's row is the lock: changes of one person are serialised, different people never wait.
      await sequelize.query('insert into opt_outs (donor_id) values (:donorId) on conflict (donor_id) do nothing', { replacements: { donorId }, transaction })
      const [current] = await select<{ material: boolean; genetic: boolean }>('select material, genetic from opt_outs where donor_id = :donorId for update', { donorId }, transaction)
      const [earlier] = await select<EventRow>(
        `select ${EVENT_COLUMNS} from opt_out_events where donor_id = :donorId and form_token = :token`,
        { donorId, token: request.formToken },
        transaction,
      )
      if (earlier) return { outcome: 'repeated', receipt: toReceipt(earlier) }

      const state: OptOutState = { material: current!.material, genetic: current!.genetic }
      if (state[request.choice] === request.optOut) return { outcome: 'unchanged', choices: state }
      state[request.choice] = request.optOut

      await sequelize.query('update opt_outs set material = :material, genetic = :genetic, updated_at = now() where donor_id = :donorId', {
        replacements: { ...state, donorId },
        transaction,
      })
      const actedBy = actor.kind === 'staff' ? 'staff' : actor.subject.actedBy
      const [row] = await select<EventRow>(
        `insert into opt_out_events (donor_id, choice, opted_out, channel, acted_by, acted_by_donor_id, acted_by_staff_id, acted_by_name,
                                     receipt_reference, material_after, genetic_after, form_token)
         values (:donorId, :choice, :optedOut, :channel, :actedBy, :actedByDonorId, :actedByStaffId, :actedByName,
                 :reference, :material, :genetic, :token)
         returning ${EVENT_COLUMNS}`,
        {
          donorId,
          choice: request.choice,
          optedOut: request.optOut,
          channel: actor.kind === 'staff' ? 'paper' : 'digital',
          actedBy,
          actedByDonorId: actedBy === 'parent' && actor.kind === 'citizen' ? actor.subject.actor.donorId : null,
          actedByStaffId: actor.kind === 'staff' ? actor.staffUserId : null,
          actedByName: actor.kind === 'staff' ? actor.name : actor.subject.actor.name || null,
          reference: newReceiptReference(),
          material: state.material,
          genetic: state.genetic,
          token: request.formToken,
        },
        transaction,
      )
      await audit.record(
        {
          actor: actor.kind === 'staff' ? { kind: 'staff', staffUserId: actor.staffUserId } : { kind: 'citizen', donorId: actor.subject.actor.donorId },
          action: 'optout.change',
          subjectDonorId: donorId,
          details: { choice: request.choice, optedOut: request.optOut, actedBy, receipt: row!.receipt_reference },
          requestId: request.requestId,
        },
        transaction,
      )
      return { outcome: 'changed', receipt: toReceipt(row!) }
    })
  }

  return {
    change,

    /** The receipt of one of the subject's changes; null for any reference that is not theirs. */
    async receipt(subject: CitizenSubject, reference: string): Promise<Receipt | null> {
      if (!/^VAR-\d{4}-[0-9A-Z]{6,8}$/.test(reference)) return null
      const [row] = await select<EventRow>(`select ${EVENT_COLUMNS} from opt_out_events where receipt_reference = :reference and donor_id = :donorId`, {
        reference,
        donorId: subject.donorId,
      })
      return row ? toReceipt(row) : null
    },

    /**
     * A biobank admin registers a citizen's choice from a paper form (channel `paper`, the admin as actor). The
     * citizen need not have any sample: the register covers every person, so an unknown CPR number gets a donor row.
     */
    async registerOnPaper(
      staff: StaffSessionUser,
      request: { cpr: string; choice: OptOutChoice; optOut: boolean; formToken: string; requestId?: string },
    ): Promise<{ error: CprError } | (ChangeResult & { maskedCpr: string })> {
      assertStaffMay(staff, 'paper_optout', staff.biobankId ?? -1)
      const parsed = parseCpr(request.cpr)
      if (!parsed.ok) return { error: parsed.error }
      const hmac = cpr.hash(parsed.cpr)
      await sequelize.query('insert into donors (cpr_hmac, cpr_encrypted, birth_date) values (:hmac, :encrypted, :birthDate) on conflict (cpr_hmac) do nothing', {
        replacements: { hmac, encrypted: cpr.encrypt(parsed.cpr), birthDate: parsed.birthDate.toISOString().slice(0, 10) },
      })
      const [donor] = await select<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac })
      const result = await change(
        { kind: 'staff', staffUserId: staff.staffUserId, name: staff.name, donorId: Number(donor!.id) },
        { choice: request.choice, optOut: request.optOut, formToken: request.formToken, requestId: request.requestId },
      )
      return { ...result, maskedCpr: maskCpr(parsed.cpr) }
    },

    /** A receipt the admin registered on paper, with the citizen's CPR number masked, for posting; null otherwise. */
    async paperReceipt(staff: StaffSessionUser, reference: string): Promise<{ receipt: Receipt; maskedCpr: string } | null> {
      assertStaffMay(staff, 'paper_optout', staff.biobankId ?? -1)
      if (!/^VAR-\d{4}-[0-9A-Z]{6,8}$/.test(reference)) return null
      const [row] = await select<EventRow & { cpr_encrypted: Buffer }>(
        `select ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}, d.cpr_encrypted
           from opt_out_events e join donors d on d.id = e.donor_id
          where e.receipt_reference = :reference and e.acted_by_staff_id = :staffId`,
        { reference, staffId: staff.staffUserId },
      )
      return row ? { receipt: toReceipt(row), maskedCpr: maskCpr(cpr.decrypt(row.cpr_encrypted)) } : null
    },

    /** Every change of the subject's choices, newest first. */
    async history(subject: CitizenSubject): Promise<Receipt[]> {
      const rows = await select<EventRow>(`select ${EVENT_COLUMNS} from opt_out_events where donor_id = :donorId order by id desc`, { donorId: subject.donorId })
      return rows.map(toReceipt)
    },
  }
}

export type OptOutService = ReturnType<typeof createOptOutService>
