// A biobank admin registers a citizen's research opt-out from a paper form: channel paper, the admin as actor,
// a printable receipt with the CPR number masked, and the citizen sees the change in their own history.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { cprFor } from '../../seeders/fictitiousCpr.ts'

describe('opt-out on a paper form, registered by a biobank admin', () => {
  let app: TestApp
  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })
  const eventsOf = (cpr: string) =>
    query<{ channel: string; acted_by: string; acted_by_staff_id: number; choice: string; opted_out: boolean; receipt_reference: string }>(
      'select e.* from opt_out_events e join donors d on d.id = e.donor_id where d.cpr_hmac = :hmac order by e.id',
      { hmac: app.services.cpr.hash(cpr) },
    )

  async function signedIn(kind: 'staff' | 'citizen', userId: string): Promise<Agent> {
    const agent = newAgent()
    await login(agent, app.baseUrl, kind, userId)
    return agent
  }

  async function formOf(agent: Agent) {
    const page = await get(agent, `${app.baseUrl}/medarbejder/fravalg`)
    expect(page.status).to.equal(200)
    return { _csrf: csrfTokenOf(page.text), formToken: /name="formToken" value="([^"]+)"/.exec(page.text)![1]! }
  }

  before(async () => {
    app = await startTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('records carl\'s material opt-out with channel paper and henrik as actor, and shows a receipt to post', async () => {
    const carl = demoCitizen('carl').cpr
    const henrik = await signedIn('staff', 'henrik')
    const form = { ...(await formOf(henrik)), cpr: `${carl.slice(0, 6)}-${carl.slice(6)}`, choice: 'material', optOut: 'yes' }
    const post = await henrik.post(`${app.baseUrl}/medarbejder/fravalg`).type('form').send(form).redirects(0).ok(() => true)
    expect(post.status).to.equal(303)
    expect(post.headers.location).to.match(/^\/medarbejder\/fravalg\/kvittering\/VAR-\d{4}-[0-9A-Z]{8}$/)
    expect(post.headers.location).not.to.contain(carl.slice(0, 6))

    const receipt = await get(henrik, `${app.baseUrl}${post.headers.location!}`)
    expect(receipt.status).to.equal(200)
    expect(receipt.text).to.contain(`${carl.slice(0, 6)}-****`)
    expect(receipt.text).not.to.contain(carl)
    expect(receipt.text).not.to.contain(carl.slice(6))
    expect(receipt.text).to.contain('Papirblanket, registreret af biobanken')

    const [henrikRow] = await query<{ id: number }>("select id from staff_users where name = 'Henrik Holm'")
    const events = await eventsOf(carl)
    expect(events).to.have.length(1)
    expect(events[0]).to.include({ channel: 'paper', acted_by: 'staff', acted_by_staff_id: henrikRow!.id, choice: 'material', opted_out: true })
    const audit = await query<{ actor_staff_id: number }>("select actor_staff_id from audit_events where action = 'optout.change' and details->>'receipt' = :ref", { ref: events[0]!.receipt_reference })
    expect(audit.map((a) => a.actor_staff_id)).to.deep.equal([henrikRow!.id])

    // The same form again changes nothing and shows the same receipt.
    const again = await henrik.post(`${app.baseUrl}/medarbejder/fravalg`).type('form').send(form).redirects(0).ok(() => true)
    expect(again.headers.location).to.equal(post.headers.location)
    expect(await eventsOf(carl)).to.have.length(1)

    // Carl sees it in his own history, with who registered it.
    const carlAgent = await signedIn('citizen', 'carl')
    const history = await get(carlAgent, `${app.baseUrl}/borger/fravalg`)
    expect(history.text).to.contain('Henrik Holm (biobank, papirblanket)')
    expect(history.text).to.contain('Du har sagt nej')

    // Another admin cannot open henrik's receipt.
    const mette = await signedIn('staff', 'mette')
    expect((await get(mette, `${app.baseUrl}${post.headers.location!}`)).status).to.equal(404)
  })

  it('registers a citizen the register has never seen, who has no samples', async () => {
    const cpr = cprFor(new Date(Date.UTC(1979, 4, 17)), 3121)
    const henrik = await signedIn('staff', 'henrik')
    const post = await henrik
      .post(`${app.baseUrl}/medarbejder/fravalg`)
      .type('form')
      .send({ ...(await formOf(henrik)), cpr, choice: 'genetic', optOut: 'yes' })
      .redirects(0)
      .ok(() => true)
    expect(post.status).to.equal(303)
    const [state] = await query<{ material: boolean; genetic: boolean }>(
      'select o.material, o.genetic from opt_outs o join donors d on d.id = o.donor_id where d.cpr_hmac = :hmac',
      { hmac: app.services.cpr.hash(cpr) },
    )
    expect(state).to.deep.equal({ material: false, genetic: true })
  })

  it('shows each mistake next to its field in Danish, keeps the input, and changes nothing', async () => {
    const henrik = await signedIn('staff', 'henrik')
    const before = await query<{ count: number }>('select count(*)::int as count from opt_out_events')
    const bad = await henrik
      .post(`${app.baseUrl}/medarbejder/fravalg`)
      .type('form')
      .send({ ...(await formOf(henrik)), cpr: '3213991234' })
      .redirects(0)
      .ok(() => true)
    expect(bad.status).to.equal(400)
    expect(bad.text).to.match(/id="cpr-error"/)
    expect(bad.text).to.contain('Vælg, hvilket valg blanketten gælder.')
    expect(bad.text).to.contain('Vælg, hvad borgeren har valgt.')
    expect(bad.text).to.contain('value="3213991234"')
    expect(await query('select count(*)::int as count from opt_out_events')).to.deep.equal(before)
  })

  it('refuses registrars, the auditor and citizens, and a POST without a CSRF token', async () => {
    for (const userId of ['stine', 'revisor']) {
      const agent = await signedIn('staff', userId)
      expect((await get(agent, `${app.baseUrl}/medarbejder/fravalg`)).status, userId).to.equal(403)
      const start = await get(agent, `${app.baseUrl}/medarbejder`)
      const post = await agent
        .post(`${app.baseUrl}/medarbejder/fravalg`)
        .type('form')
        .send({ _csrf: csrfTokenOf(start.text), formToken: crypto.randomUUID(), cpr: demoCitizen('anne').cpr, choice: 'material', optOut: 'yes' })
        .redirects(0)
        .ok(() => true)
      expect(post.status, userId).to.equal(403)
    }
    const citizen = await signedIn('citizen', 'anne')
    expect((await get(citizen, `${app.baseUrl}/medarbejder/fravalg`)).status).to.equal(403)
    const henrik = await signedIn('staff', 'henrik')
    const noCsrf = await henrik
      .post(`${app.baseUrl}/medarbejder/fravalg`)
      .type('form')
      .send({ formToken: crypto.randomUUID(), cpr: demoCitizen('anne').cpr, choice: 'material', optOut: 'yes' })
      .redirects(0)
      .ok(() => true)
    expect(noCsrf.status).to.equal(403)
    expect(await eventsOf(demoCitizen('anne').cpr)).to.have.length(0)
  })

  it('refuses a registrar in the service layer too, whatever the route does', async () => {
    const [stine] = await query<{ id: number; biobank_id: number }>("select id, biobank_id from staff_users where name = 'Stine Sørensen'")
    let refused: unknown
    try {
      await app.services.optOuts.registerOnPaper(
        { kind: 'staff', staffUserId: stine!.id, name: 'Stine Sørensen', role: 'registrar', biobankId: stine!.biobank_id, biobankCode: 'RH' },
        { cpr: demoCitizen('anne').cpr, choice: 'material', optOut: true, formToken: crypto.randomUUID() },
      )
    } catch (error) {
      refused = error
    }
    expect(refused).to.have.property('status', 403)
  })
})
