// No race between a citizen's opt-out and an eligibility check: an opt-out whose receipt was shown before a check
// started is always honoured. Opt-out changes (services.optOuts.change, as the citizen's own page makes them) and
// checks of lists holding the donor's samples run interleaved, over a thousand times; every check is then held
// against what it must have seen. Every tenth check is a long list, decided through its own work table; and the
// test database runs every statement that may run in parallel in a parallel worker (debug_parallel_query), so the
// deciding statement's workers are held to the same snapshot.
import crypto from 'node:crypto'
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { createSequelize } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'
import type { CitizenSubject } from '../../server/services/citizenService.ts'
import type { CheckSummary } from '../../server/services/eligibilityService.ts'
import { createTestDatabase, testConfig } from '../support/testDatabase.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'

const ROUNDS_PER_LANE = 250
const LANES = 4
/** Unknown labels that make a list long enough (over 10,000) for the work-table path. */
const LONG_PADDING = Array.from({ length: 10_001 }, (_, i) => `RACE-PADDING-${i}`)

interface Lane {
  donorId: number
  subject: CitizenSubject
  /** The donor's RH samples that are available (eligible unless the donor opted out). */
  samples: { id: number; label: string }[]
  labels: string[]
}

interface Round {
  lane: number
  /** The state the change asked for: opted out of material research, or not. */
  optedOut: boolean
  /** When change() had returned (its receipt shown), and when the check call started; ms, one clock. */
  changeReturnedAt: number
  checkStartedAt: number
  check: CheckSummary
}

const pause = (ms: number) => (ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe('eligibility checks racing opt-out changes', function () {
  this.timeout(180_000)
  let services: Services
  let admin: StaffSessionUser
  let projectId: number
  const lanes: Lane[] = []

  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

  before(async () => {
    const url = await createTestDatabase()
    // Every parallel-safe statement runs in a parallel worker, as the deciding statement of a large check does.
    const database = new URL(url).pathname.slice(1)
    const setUp = createSequelize(url, 1)
    await setUp.query(`alter database "${database}" set debug_parallel_query = on`)
    await setUp.close()
    services = createServices(testConfig({ DATABASE_URL: url }), createLogger('silent'), createSequelize(url, 2 * LANES + 2))
    const signedIn = await services.auth.signInStaff({ sub: 'race-admin', name: 'Race Admin', role: 'biobank_admin', biobank: 'RH' }, 'urn:test')
    admin = (signedIn as { user: StaffSessionUser }).user
    const created = await services.eligibility.createProject(admin, { title: 'Race', reference: 'RACE-1', approvalId: 'VEK-RACE', purpose: 'both' })
    projectId = (created as { project: { id: number } }).project.id

    // anne (whose RH samples include aliquots and a DNA derivative) and other RH donors without any opt-out.
    const [anne] = await query<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: services.cpr.hash(demoCitizen('anne').cpr) })
    const others = await query<{ donor_id: number }>(
      `select s.donor_id from samples s join biobanks b on b.id = s.biobank_id
        where b.code = 'RH' and s.availability = 'available' and s.donor_id <> :anne
          and not exists (select 1 from opt_outs o where o.donor_id = s.donor_id and (o.material or o.genetic))
        group by s.donor_id order by count(*) desc, s.donor_id limit :n`,
      { anne: anne!.id, n: LANES - 1 },
    )
    const filler = await query<{ label: string }>(
      `select s.label from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RH' and s.donor_id not in (:donors) order by s.id limit 3`,
      { donors: [anne!.id, ...others.map((o) => o.donor_id)] },
    )
    for (const donorId of [anne!.id, ...others.map((o) => o.donor_id)]) {
      const samples = await query<{ id: number; label: string }>(
        `select s.id, s.label from samples s join biobanks b on b.id = s.biobank_id where s.donor_id = :donorId and b.code = 'RH' and s.availability = 'available' order by s.label`,
        { donorId },
      )
      const subject = await services.citizen.resolveSubject({ kind: 'citizen', donorId, name: `Donor ${donorId}`, loa: 'Substantial' })
      if (typeof subject === 'string') throw new Error(subject)
      lanes.push({ donorId, subject, samples, labels: [...samples.map((s) => s.label), ...filler.map((f) => f.label), 'RACE-UNKNOWN'] })
    }
    expect(lanes).to.have.length(LANES)
    expect(await query<{ debug_parallel_query: string }>('show debug_parallel_query')).to.deep.equal([{ debug_parallel_query: 'on' }])
    for (const lane of lanes) expect(lane.samples.length).to.be.greaterThan(0)
  })
  after(async () => {
    await services.database.close()
  })

  async function runLane(index: number, rounds: Round[]): Promise<void> {
    const lane = lanes[index]!
    // A fixed seed per lane, so a failure can be replayed.
    let seed = 1 + index
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647
      return seed / 2_147_483_647
    }
    for (let i = 0; i < ROUNDS_PER_LANE; i++) {
      const optedOut = i % 2 === 0
      let changeReturnedAt = Number.POSITIVE_INFINITY
      let checkStartedAt = 0
      const change = async () => {
        const result = await services.optOuts.change({ kind: 'citizen', subject: lane.subject }, { choice: 'material', optOut: optedOut, formToken: crypto.randomUUID() })
        changeReturnedAt = performance.now()
        expect(result.outcome).to.equal('changed')
      }
      const check = async () => {
        checkStartedAt = performance.now()
        const labels = i % 10 === 5 ? [...lane.labels, ...LONG_PADDING] : lane.labels
        return services.eligibility.checkLabels({ kind: 'staff', user: admin }, projectId, labels, { source: 'list' })
      }
      let summary: CheckSummary
      if (i % 3 === 0) {
        // The receipt is shown, then the check starts: the case the rule is about, for sure in every third round
        // (opting out and withdrawing in turn, as i % 3 === 0 alternates between even and odd rounds).
        await change()
        summary = await check()
      } else {
        // Otherwise both at once, one of them a little later (0–3 ms, either way round).
        const delay = Math.floor(random() * 7) - 3
        const [, checked] = await Promise.all([pause(-delay).then(change), pause(delay).then(check)])
        summary = checked
      }
      rounds.push({ lane: index, optedOut, changeReturnedAt, checkStartedAt, check: summary })
    }
  }

  it(`honours every opt-out whose receipt was shown before the check started, over ${LANES * ROUNDS_PER_LANE} interleavings`, async () => {
    const rounds: Round[] = []
    await Promise.all(lanes.map((_lane, index) => runLane(index, rounds)))
    expect(rounds).to.have.length(LANES * ROUNDS_PER_LANE)

    const outcomes = await query<{ check_id: string; sample_id: number; outcome: string }>(
      `select check_id, sample_id, outcome from eligibility_check_items where check_id in (:ids) and sample_id is not null`,
      { ids: rounds.map((r) => r.check.id) },
    )
    const outcomeOf = new Map(outcomes.map((o) => [`${o.check_id}/${o.sample_id}`, o.outcome]))
    // The donor's material choice in each check's own snapshot: the latest of their events visible in it.
    const seen = await query<{ check_id: string; donor_id: number; material: boolean | null }>(
      `select c.id as check_id, d.donor_id,
              (select e.material_after from opt_out_events e
                where e.donor_id = d.donor_id and pg_visible_in_snapshot(e.xmin::text::xid8, c.snapshot::pg_snapshot)
                order by e.id desc limit 1) as material
         from eligibility_checks c
         join (select unnest(array[:checkIds]::uuid[]) as check_id, unnest(array[:donorIds]::bigint[]) as donor_id) d on d.check_id = c.id`,
      { checkIds: rounds.map((r) => r.check.id), donorIds: rounds.map((r) => lanes[r.lane]!.donorId) },
    )
    const materialSeen = new Map(seen.map((s) => [s.check_id, s.material ?? false]))

    let receiptFirst = 0
    const leaks: string[] = []
    const stale: string[] = []
    const inconsistent: string[] = []
    for (const round of rounds) {
      const lane = lanes[round.lane]!
      const outcomesNow = lane.samples.map((s) => outcomeOf.get(`${round.check.id}/${s.id}`))
      const expected = materialSeen.get(round.check.id) ? 'excluded_material' : 'eligible'
      // Every one of the donor's samples was decided by the opt-out state its own snapshot held.
      if (outcomesNow.some((o) => o !== expected)) inconsistent.push(`${round.check.id}: ${outcomesNow.join(',')} but the snapshot held ${expected}`)
      if (round.changeReturnedAt < round.checkStartedAt) {
        receiptFirst++
        // The receipt was shown before the check started: the check must see the change.
        if (round.optedOut && outcomesNow.some((o) => o === 'eligible')) leaks.push(`lane ${round.lane}: ${round.check.id}`)
        if (!round.optedOut && outcomesNow.some((o) => o !== 'eligible')) stale.push(`lane ${round.lane}: ${round.check.id}`)
      }
    }
    expect(leaks, 'opted-out samples released after the receipt was shown').to.deep.equal([])
    expect(stale, 'withdrawn opt-outs still excluding after the receipt was shown').to.deep.equal([])
    expect(inconsistent, 'outcomes that the stored snapshot does not explain').to.deep.equal([])
    expect(receiptFirst).to.be.at.least(Math.floor((LANES * ROUNDS_PER_LANE) / 3))
    expect(rounds.filter((r) => r.check.requested > 10_000)).to.have.length((LANES * ROUNDS_PER_LANE) / 10)
  })
})
