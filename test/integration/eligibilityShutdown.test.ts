// A graceful stop (SIGTERM, or a tool ending) lets the indexing after a check end before it closes the pool.
import { expect } from 'chai'
import pg from 'pg'
import { QueryTypes } from 'sequelize'
import { bootstrap } from '../../server/bootstrap.ts'
import { CHECK_CHUNK } from '../../server/services/eligibilityService.ts'
import { capturedLogLines, captureLogger } from '../support/testApp.ts'
import { createTestDatabase, testConfig } from '../support/testDatabase.ts'

describe('stopping right after an eligibility check', () => {
  it('indexes the check for the citizen\'s log before the pool closes, with no warning', async () => {
    const databaseUrl = await createTestDatabase()
    const runtime = await bootstrap(testConfig({ DATABASE_URL: databaseUrl }), captureLogger(), { asAppRole: true })
    const signedIn = await runtime.services.auth.signInStaff({ sub: 'shutdown-admin', name: 'Henrik Holm', role: 'biobank_admin', biobank: 'RH' }, 'urn:test')
    if (!('user' in signedIn)) throw new Error(signedIn.reason)
    const { user } = signedIn
    const created = await runtime.services.eligibility.createProject(user, { title: 'Lukning', reference: 'STOP-2026-01', approvalId: 'VEK-H-26012345', purpose: 'material' })
    if (!('project' in created)) throw new Error('project not created')
    const labels = (await runtime.services.database.sequelize.query<{ label: string }>('select label from samples where biobank_id = :id', { replacements: { id: user.biobankId }, type: QueryTypes.SELECT })).map((r) => r.label)
    const check = await runtime.services.eligibility.checkLabels({ kind: 'staff', user }, created.project.id, labels, { source: 'list' })

    // The check has committed and its indexing has just started: stop now.
    const logged = capturedLogLines.length
    await runtime.shutdown()

    expect(capturedLogLines.slice(logged).filter((line) => line.includes('could not be indexed')), 'warnings of indexing cut off').to.deep.equal([])
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const indexed = await client.query<{ n: number }>('select count(*)::int as n from eligibility_check_samples where check_id = $1', [check.id])
      expect(indexed.rows[0]!.n, 'chunks of the check indexed for the citizen\'s log').to.equal(Math.ceil(labels.length / CHECK_CHUNK))
    } finally {
      await client.end()
    }
  })
})
