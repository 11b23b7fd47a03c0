// Checks the hash-chained audit trail (migration 2026-11-26T0008): every event's hash is recomputed from its
// content and its predecessor's hash, sequence numbers have no gaps, and each chain ends at its recorded head.
// The work is one pass per chain inside PostgreSQL, so millions of events never travel to Node.
import { QueryTypes, type Sequelize } from 'sequelize'

export interface BrokenLink {
  chain: number
  /** Position in the chain (1 = first event). */
  seq: number
  /** The audit event at that position, when there is one. */
  eventId: number | null
  reason: 'content_changed' | 'link_broken' | 'event_missing' | 'head_mismatch'
}

export type ChainVerdict = { ok: true; chains: number; events: number } | { ok: false; chains: number; events: number; firstBroken: BrokenLink; brokenChains: number }

export async function verifyAuditChain(sequelize: Sequelize): Promise<ChainVerdict> {
  const problems = await sequelize.query<{ chain: number; seq: number; event_id: number | null; reason: BrokenLink['reason']; events: number }>(
    `with heads as (select chain, seq, hash from audit_chain_heads),
     linked as (
       select e.id, e.chain, e.chain_seq, e.hash, e.prev_hash,
              sha256(e.prev_hash || convert_to(audit_event_canonical(e), 'UTF8')) as recomputed,
              coalesce(lag(e.hash) over w, sha256(convert_to('biobank-registry audit chain ' || e.chain, 'UTF8'))) as expected_prev,
              row_number() over w as position
         from audit_events e
       window w as (partition by e.chain order by e.chain_seq)
     ),
     broken as (
       select chain, position as seq, id as event_id,
              case when chain_seq <> position then 'event_missing'
                   when prev_hash <> expected_prev then 'link_broken'
                   else 'content_changed' end as reason
         from linked
        where chain_seq <> position or prev_hash <> expected_prev or hash <> recomputed
       union all
       -- The last event of each chain must be the head the writers recorded (a removed tail shows here).
       select h.chain, coalesce(l.chain_seq, 0) + 1 as seq, null, 'head_mismatch'
         from heads h
         left join lateral (select chain_seq, hash from audit_events where chain = h.chain order by chain_seq desc limit 1) l on true
        where h.seq <> coalesce(l.chain_seq, 0)
           or h.hash <> coalesce(l.hash, sha256(convert_to('biobank-registry audit chain ' || h.chain, 'UTF8')))
     ),
     first_per_chain as (
       select distinct on (chain) chain, seq, event_id, reason from broken order by chain, seq
     )
     select f.*, (select count(*) from audit_events) as events from first_per_chain f order by f.seq, f.chain`,
    { type: QueryTypes.SELECT },
  )
  const [counts] = await sequelize.query<{ chains: number; events: number }>('select (select count(*) from audit_chain_heads) as chains, (select count(*) from audit_events) as events', {
    type: QueryTypes.SELECT,
  })
  const chains = Number(counts!.chains)
  const events = Number(counts!.events)
  if (problems.length === 0) return { ok: true, chains, events }
  const first = problems[0]!
  return {
    ok: false,
    chains,
    events,
    brokenChains: problems.length,
    firstBroken: { chain: Number(first.chain), seq: Number(first.seq), eventId: first.event_id === null ? null : Number(first.event_id), reason: first.reason },
  }
}
