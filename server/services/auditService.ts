// Every access to person data is an audit event, written in the same transaction as the action it records.
import type { Transaction } from 'sequelize'
import type { Database } from './database.ts'

export type AuditActor =
  | { kind: 'citizen'; donorId: number }
  | { kind: 'staff'; staffUserId: number }
  | { kind: 'system' }

export interface AuditEntry {
  actor: AuditActor
  action: string
  subjectDonorId?: number | null
  sampleId?: number | null
  details?: Record<string, unknown>
  requestId?: string | null
}

export function createAuditService(database: Database) {
  return {
    async record(entry: AuditEntry, transaction?: Transaction): Promise<void> {
      await database.models.AuditEvent.create(
        {
          actorKind: entry.actor.kind,
          actorDonorId: entry.actor.kind === 'citizen' ? entry.actor.donorId : null,
          actorStaffId: entry.actor.kind === 'staff' ? entry.actor.staffUserId : null,
          action: entry.action,
          subjectDonorId: entry.subjectDonorId ?? null,
          sampleId: entry.sampleId ?? null,
          details: entry.details ?? {},
          requestId: entry.requestId ?? null,
        },
        { transaction },
      )
    },
  }
}

export type AuditService = ReturnType<typeof createAuditService>
