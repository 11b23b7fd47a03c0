// The auditor's searchable audit view: filters, keyset paging, refusals, and the search itself audited.
import { expect } from 'chai'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { get, login, newAgent, type Agent } from '../support/oidcFlow.ts'

describe('audit view for the auditor', () => {
  let app: TestApp
  let revisor: Agent
  before(async () => {
    app = await startTestApp()
    // 120 events of one kind, so paging has something to page through.
    for (let i = 0; i < 120; i++) await app.services.audit.record({ actor: { kind: 'system' }, action: 'test.paging', details: { i } })
    revisor = newAgent()
    await login(revisor, app.baseUrl, 'staff', 'revisor')
  })
  after(async () => {
    await app.close()
  })

  it('finds events by action prefix, newest first, and pages through all of them exactly once', async () => {
    const seen: number[] = []
    let url = `${app.baseUrl}/medarbejder/revision?action=test&actorKind=system`
    for (let page = 0; page < 5 && url; page++) {
      const res = await get(revisor, url)
      expect(res.status).to.equal(200)
      seen.push(...[...res.text.matchAll(/\{&#34;i&#34;:(\d+)\}/g)].map((m) => Number(m[1])))
      const next = /href="(\/medarbejder\/revision\?(?!lang=)[^"]*cursor=[^"]+)"/.exec(res.text)?.[1]
      url = next ? `${app.baseUrl}${next.replaceAll('&amp;', '&')}` : ''
    }
    expect(seen).to.deep.equal([...Array(120).keys()].reverse())
  })

  it('pages through events that share a millisecond without skipping any (the cursor keeps microseconds)', async () => {
    // 60 events within one millisecond: a cursor cut to milliseconds would lose the ten after the first page.
    for (let i = 0; i < 60; i++) {
      await app.services.database.sequelize.query(
        "insert into audit_events (occurred_at, actor_kind, action, details) values ('2020-01-01T00:00:00.000100Z'::timestamptz + make_interval(secs => :i / 1000000.0), 'system', 'test.microsecond', :details)",
        { replacements: { i, details: JSON.stringify({ i }) } },
      )
    }
    const seen: number[] = []
    let url = `${app.baseUrl}/medarbejder/revision?action=test.microsecond`
    for (let page = 0; page < 4 && url; page++) {
      const res = await get(revisor, url)
      seen.push(...[...res.text.matchAll(/\{&#34;i&#34;:(\d+)\}/g)].map((m) => Number(m[1])))
      const next = /href="(\/medarbejder\/revision\?(?!lang=)[^"]*cursor=[^"]+)"/.exec(res.text)?.[1]
      url = next ? `${app.baseUrl}${next.replaceAll('&amp;', '&')}` : ''
    }
    expect(seen).to.deep.equal([...Array(60).keys()].reverse())
  })

  it('shows login events with the staff member, role and biobank, and audits the search itself', async () => {
    const henrik = newAgent()
    await login(henrik, app.baseUrl, 'staff', 'henrik')
    const res = await get(revisor, `${app.baseUrl}/medarbejder/revision?action=staff.login`)
    expect(res.text).to.contain('Henrik Holm, Biobankadministrator (RH)')
    expect(res.text).not.to.contain('test.paging')
    const searches = await app.services.database.models.AuditEvent.count({ where: { action: 'audit.search' } })
    expect(searches).to.be.greaterThan(0)
  })

  it('explains a bad date in Danish next to the field, with 400', async () => {
    const res = await get(revisor, `${app.baseUrl}/medarbejder/revision?from=31-12-2025`)
    expect(res.status).to.equal(400)
    expect(res.text).to.contain('Skriv datoen som ÅÅÅÅ-MM-DD.')
    expect(res.text).to.contain('value="31-12-2025"')
  })

  it('refuses everyone but the auditor', async () => {
    for (const [kind, userId] of [['staff', 'stine'], ['staff', 'henrik'], ['citizen', 'anne']] as const) {
      const agent = newAgent()
      await login(agent, app.baseUrl, kind, userId)
      expect((await get(agent, `${app.baseUrl}/medarbejder/revision`)).status, userId).to.equal(403)
    }
  })
})
