// The citizen portal against the real database and the development OpenID provider: my samples, a sample's
// story, research opt-out with receipt, acting for a child, who has used my data, and my data as JSON and FHIR.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { validateFhir } from '../support/fhirSchema.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'

describe('citizen portal', () => {
  let app: TestApp
  const donorIds = new Map<string, number>()

  const donorId = (userId: string) => donorIds.get(userId)!
  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })
  const publicIdsOf = (donor: number) =>
    query<{ public_id: string; label: string }>('select public_id, label from samples where donor_id = :donor order by label', { donor })
  const optOutEvents = (donor: number) =>
    query<{ receipt_reference: string; acted_by: string; acted_by_donor_id: number | null; acted_by_name: string | null; choice: string; opted_out: boolean }>(
      'select * from opt_out_events where donor_id = :donor order by id',
      { donor },
    )

  async function signedIn(userId: string): Promise<Agent> {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'citizen', userId)
    return agent
  }

  /** Walks the opt-out journey like a browser: the page, the confirm step, the POST, the receipt. */
  async function changeChoice(agent: Agent, choice: 'material' | 'genetic', optOut: boolean) {
    const confirm = await get(agent, `${app.baseUrl}/borger/fravalg/bekraeft?choice=${choice}&optOut=${optOut ? 'yes' : 'no'}`)
    expect(confirm.status).to.equal(200)
    const form = {
      _csrf: csrfTokenOf(confirm.text),
      choice,
      optOut: optOut ? 'yes' : 'no',
      formToken: /name="formToken" value="([^"]+)"/.exec(confirm.text)![1]!,
    }
    const post = await agent.post(`${app.baseUrl}/borger/fravalg`).type('form').send(form).redirects(0).ok(() => true)
    return { form, post }
  }

  before(async () => {
    app = await startTestApp()
    for (const userId of ['anne', 'bo', 'carl', 'dorte', 'emil', 'frida']) {
      const [row] = await query<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: app.services.cpr.hash(demoCitizen(userId).cpr) })
      donorIds.set(userId, Number(row!.id))
    }
  })
  after(async () => {
    await app.close()
  })

  describe('my samples', () => {
    it('shows anne exactly her own samples, with the aliquots and the DNA nested under the whole blood', async () => {
      const agent = await signedIn('anne')
      const page = await get(agent, `${app.baseUrl}/borger/proever`)
      expect(page.status).to.equal(200)
      const own = await publicIdsOf(donorId('anne'))
      expect(own.length).to.be.greaterThan(3)
      const linked = [...page.text.matchAll(/href="\/borger\/proever\/([0-9a-f-]{36})"/g)].map((m) => m[1])
      expect([...new Set(linked)].sort()).to.deep.equal(own.map((s) => s.public_id).sort())

      // The whole blood's <li> contains its plasma aliquots and its DNA derivative.
      const blood = own.find((s) => s.label === 'RH-2024-000123')!
      const start = page.text.indexOf(`/borger/proever/${blood.public_id}`)
      const item = page.text.slice(start, page.text.indexOf('</li>\n</ul>', start))
      for (const suffix of ['-01', '-02', '-03']) expect(item, `RH-2024-000123${suffix} under its parent`).to.contain(`RH-2024-000123${suffix}`)
      expect(page.text).to.contain('Region Hovedstadens Biobank')
      expect(page.text).to.contain('Fuldblod')
      expect(page.text).to.contain('Må bruges til godkendt forskning')
    })

    it('shows carl, who has no samples, what that means', async () => {
      const agent = await signedIn('carl')
      const page = await get(agent, `${app.baseUrl}/borger/proever`)
      expect(page.status).to.equal(200)
      expect(page.text).to.contain('Der er ingen prøver registreret')
      expect(page.text).not.to.match(/href="\/borger\/proever\/[0-9a-f-]{36}"/)
    })

    it('says which samples bo may not have used, given his opt-out of both', async () => {
      const agent = await signedIn('bo')
      const page = await get(agent, `${app.baseUrl}/borger/proever`)
      expect(page.text).to.contain('Må ikke bruges til forskning')
      expect(page.text).not.to.contain('Må bruges til godkendt forskning')
    })

    it('answers in English after the language switch', async () => {
      const agent = await signedIn('anne')
      const page = await get(agent, `${app.baseUrl}/borger/proever?lang=en`)
      expect(page.text).to.contain('<html lang="en">')
      expect(page.text).to.contain('Your samples')
      expect(page.text).to.contain('Whole blood')
    })
  })

  describe("a sample's story", () => {
    it('shows the events and who has looked at the sample, read from the audit trail', async () => {
      const [blood] = await query<{ id: number; public_id: string }>("select id, public_id from samples where label = 'RH-2024-000123'")
      const [staff] = await query<{ id: number }>(
        "insert into staff_users (issuer, subject, name, role, biobank_id) select 'test', 'story', 'Story Tester', 'registrar', id from biobanks where code = 'RM' returning id",
      )
      await app.services.audit.record({ actor: { kind: 'staff', staffUserId: Number(staff!.id) }, action: 'sample.view', sampleId: Number(blood!.id), subjectDonorId: donorId('anne') })
      await app.services.audit.record({
        actor: { kind: 'staff', staffUserId: Number(staff!.id) },
        action: 'eligibility.check',
        sampleId: Number(blood!.id),
        subjectDonorId: donorId('anne'),
        details: { project: 'Hjertestudiet 2026', purpose: 'genetic', outcome: 'included' },
      })
      const agent = await signedIn('anne')
      const page = await get(agent, `${app.baseUrl}/borger/proever/${blood!.public_id}`)
      expect(page.status).to.equal(200)
      expect(page.text).to.contain('Udtaget')
      expect(page.text).to.contain('Behandlet')
      expect(page.text).to.contain('Region Midtjyllands Biobank, Bioanalytiker/registrator')
      expect(page.text).to.contain('Så oplysninger om prøven')
      expect(page.text).to.contain('Hjertestudiet 2026')
      expect(page.text).to.contain('Prøven kunne bruges')
      // The staff user's own name is not shown to the citizen, only organisation and role.
      expect(page.text).not.to.contain('Story Tester')

      const log = await get(agent, `${app.baseUrl}/borger/adgang`)
      expect(log.text).to.contain('Hjertestudiet 2026')
      expect(log.text).to.contain('RH-2024-000123')
    })

    it('lists every eligibility check that considered her samples, with the project and whether each was used', async () => {
      await login(newAgent(), app.baseUrl, 'staff', 'henrik')
      const [henrik] = await query<{ id: number; biobank_id: number }>("select id, biobank_id from staff_users where name = 'Henrik Holm'")
      const user = { kind: 'staff' as const, staffUserId: henrik!.id, name: 'Henrik Holm', role: 'biobank_admin' as const, biobankId: henrik!.biobank_id, biobankCode: 'RH' }
      const created = await app.services.eligibility.createProject(user, { title: 'Blodpropstudiet', reference: 'BPS-1', approvalId: 'VEK-2026-77', purpose: 'material' })
      if ('error' in created) throw new Error('project not created')
      await app.services.eligibility.checkLabels({ kind: 'staff', user }, created.project.id, ['RH-2024-000123', 'RH-2024-000123-03'], { source: 'list' })
      const agent = await signedIn('anne')
      const log = await get(agent, `${app.baseUrl}/borger/adgang`)
      const rows = log.text.split('<tr>').filter((row) => row.includes('Blodpropstudiet'))
      expect(rows).to.have.length(2)
      for (const label of ['RH-2024-000123', 'RH-2024-000123-03']) expect(rows.some((row) => row.includes(`<td>${label}</td>`)), label).to.equal(true)
      expect(rows.every((row) => row.includes('Undersøgte, om prøven må bruges til et forskningsprojekt'))).to.equal(true)
      // Whether each sample was included follows her choices at the time of the check.
      const choices = await app.services.citizen.choicesOf(donorId('anne'))
      expect(rows.every((row) => row.includes(choices.material ? 'Prøven blev ikke brugt' : 'Prøven kunne bruges'))).to.equal(true)
      // Bo's samples were not asked about: nothing of this check appears in his log.
      const bo = await get(await signedIn('bo'), `${app.baseUrl}/borger/adgang`)
      expect(bo.text).not.to.contain('Blodpropstudiet')
    })

    it("finds a check's entries in her log once each, both before the check is indexed for the log and after", async () => {
      const [henrik] = await query<{ id: number; biobank_id: number }>("select id, biobank_id from staff_users where name = 'Henrik Holm'")
      const user = { kind: 'staff' as const, staffUserId: henrik!.id, name: 'Henrik Holm', role: 'biobank_admin' as const, biobankId: henrik!.biobank_id, biobankCode: 'RH' }
      const created = await app.services.eligibility.createProject(user, { title: 'Ventelistestudiet', reference: 'VLS-1', approvalId: 'VEK-2026-78', purpose: 'both' })
      if ('error' in created) throw new Error('project not created')
      const check = await app.services.eligibility.checkLabels({ kind: 'staff', user }, created.project.id, ['RH-2024-000123'], { source: 'list' })
      await app.services.eligibility.indexChecks()
      const indexed = async (checkId: string) => (await query<{ n: number }>('select count(*)::int as n from eligibility_check_samples where check_id = :checkId', { checkId }))[0]!.n
      expect(await indexed(check.id)).to.equal(1)
      const entries = async () => (await get(await signedIn('anne'), `${app.baseUrl}/borger/adgang`)).text.split('<tr>').filter((row) => row.includes('Ventelistestudiet'))
      expect(await entries()).to.have.length(1)
      // The same answer stored again by SQL, so without the service's indexing: the log reads its chunks directly.
      const copy = '01900000-0000-7000-8000-000000000001'
      await query(
        `insert into eligibility_checks select (jsonb_populate_record(null::eligibility_checks, to_jsonb(c) || jsonb_build_object('id', :copy::text))).*
           from eligibility_checks c where c.id = :id`,
        { id: check.id, copy },
      )
      await query(
        `insert into eligibility_check_chunks (check_id, chunk, positions, labels, sample_ids, outcomes)
         select :copy, chunk, positions, labels, sample_ids, outcomes from eligibility_check_chunks where check_id = :id`,
        { id: check.id, copy },
      )
      expect(await indexed(copy)).to.equal(0)
      expect(await entries()).to.have.length(2)
      // Indexed (as after the next check): found through the index, and still once.
      await app.services.eligibility.indexChecks()
      expect(await indexed(copy)).to.equal(1)
      expect(await entries()).to.have.length(2)
    })

    it('gives anne the same 404 for every sample of any other donor as for a sample that does not exist', async () => {
      const agent = await signedIn('anne')
      const others = await query<{ public_id: string }>('select public_id from samples where donor_id <> :anne', { anne: donorId('anne') })
      expect(others.length).to.be.greaterThan(200)
      const missing = await get(agent, `${app.baseUrl}/borger/proever/00000000-0000-4000-8000-000000000000`)
      expect(missing.status).to.equal(404)
      for (const { public_id } of others) {
        const res = await get(agent, `${app.baseUrl}/borger/proever/${public_id}`)
        expect(res.status, public_id).to.equal(404)
        // Word for word the same page; only the page's own address (in the language link) differs.
        expect(res.text.replaceAll(public_id, '00000000-0000-4000-8000-000000000000')).to.equal(missing.text)
      }
      const notAnId = await get(agent, `${app.baseUrl}/borger/proever/1%27%20or%201=1`)
      expect(notAnId.status).to.equal(404)
    })

    it("gives anne 404 for every receipt of another citizen's choices", async () => {
      const agent = await signedIn('anne')
      const receipts = await query<{ receipt_reference: string }>('select receipt_reference from opt_out_events where donor_id <> :anne', { anne: donorId('anne') })
      expect(receipts.length).to.be.greaterThan(0)
      for (const { receipt_reference } of receipts) {
        const res = await get(agent, `${app.baseUrl}/borger/fravalg/kvittering/${receipt_reference}`)
        expect(res.status, receipt_reference).to.equal(404)
      }
    })
  })

  describe('research opt-out', () => {
    it('takes anne through opting out of genetic data, a repeated submission, and withdrawing, with a receipt each time', async () => {
      const anne = donorId('anne')
      const agent = await signedIn('anne')
      const before = await get(agent, `${app.baseUrl}/borger/fravalg`)
      expect(before.text).to.contain('Du har ikke sagt nej')
      expect(before.text).to.contain('Dit valg har ingen betydning for din behandling')

      const { form, post } = await changeChoice(agent, 'genetic', true)
      expect(post.status).to.equal(303)
      const receiptUrl = post.headers.location!
      expect(receiptUrl).to.match(/^\/borger\/fravalg\/kvittering\/VAR-\d{4}-[0-9A-Z]{8}$/)
      const receipt = await get(agent, `${app.baseUrl}${receiptUrl}`)
      const reference = receiptUrl.split('/').at(-1)!
      expect(receipt.status).to.equal(200)
      expect(receipt.text).to.contain(reference)
      expect(receipt.text).to.contain('Genetiske oplysninger: nej til forskning')

      let events = await optOutEvents(anne)
      expect(events).to.have.length(1)
      expect(events[0]).to.include({ choice: 'genetic', opted_out: true, acted_by: 'self', receipt_reference: reference })
      const [state] = await query<{ material: boolean; genetic: boolean }>('select material, genetic from opt_outs where donor_id = :anne', { anne })
      expect(state).to.deep.equal({ material: false, genetic: true })

      // The same form again (back button, double click): the first receipt again, no second change.
      const again = await agent.post(`${app.baseUrl}/borger/fravalg`).type('form').send(form).redirects(0).ok(() => true)
      expect(again.status).to.equal(303)
      expect(again.headers.location).to.equal(receiptUrl)
      // A fresh confirm page for a choice already in force has nothing to confirm.
      const stale = await get(agent, `${app.baseUrl}/borger/fravalg/bekraeft?choice=genetic&optOut=yes`)
      expect(stale.status).to.equal(303)
      expect(stale.headers.location).to.equal('/borger/fravalg?besked=uaendret')
      events = await optOutEvents(anne)
      expect(events).to.have.length(1)

      const history = await get(agent, `${app.baseUrl}/borger/fravalg`)
      expect(history.text).to.contain('Du har sagt nej')
      expect(history.text.match(/\/borger\/fravalg\/kvittering\/VAR-/g)).to.have.length(1)

      // The FHIR Consent in her download denies genetic research and is valid FHIR R4.
      const fhir = await get(agent, `${app.baseUrl}/borger/mine-data.fhir.json`)
      expect(fhir.status).to.equal(200)
      expect(fhir.headers['content-disposition']).to.contain('attachment')
      const bundle = JSON.parse(fhir.text) as { entry: { resource: Record<string, unknown> }[] }
      expect(validateFhir(bundle)).to.deep.equal([])
      const consentOf = (b: typeof bundle) => b.entry.map((e) => e.resource).find((r) => r.resourceType === 'Consent') as { provision: { type: string; provision?: { type: string; code?: { coding: { code: string }[] }[] }[] } }
      const denied = (b: typeof bundle) => (consentOf(b).provision.provision ?? []).filter((p) => p.type === 'deny').flatMap((p) => p.code?.flatMap((c) => c.coding.map((x) => x.code)) ?? [])
      expect(denied(bundle)).to.deep.equal(['genetic'])

      // Withdrawing works the same way and gives a second receipt.
      const withdraw = await changeChoice(agent, 'genetic', false)
      expect(withdraw.post.status).to.equal(303)
      expect(withdraw.post.headers.location).not.to.equal(receiptUrl)
      const second = await get(agent, `${app.baseUrl}${withdraw.post.headers.location!}`)
      expect(second.text).to.contain('Genetiske oplysninger: nej fortrudt')
      events = await optOutEvents(anne)
      expect(events.map((e) => e.opted_out)).to.deep.equal([true, false])
      const after = JSON.parse((await get(agent, `${app.baseUrl}/borger/mine-data.fhir.json`)).text) as typeof bundle
      expect(validateFhir(after)).to.deep.equal([])
      expect(denied(after)).to.deep.equal([])

      const audit = await query<{ count: number }>("select count(*)::int as count from audit_events where action = 'optout.change' and subject_donor_id = :anne", { anne })
      expect(audit[0]!.count).to.equal(2)
    })

    it('registers one change when the same form is sent twice at the same moment', async () => {
      const carl = donorId('carl')
      const agent = await signedIn('carl')
      const confirm = await get(agent, `${app.baseUrl}/borger/fravalg/bekraeft?choice=material&optOut=yes`)
      const form = { _csrf: csrfTokenOf(confirm.text), choice: 'material', optOut: 'yes', formToken: /name="formToken" value="([^"]+)"/.exec(confirm.text)![1]! }
      const send = () => agent.post(`${app.baseUrl}/borger/fravalg`).type('form').send(form).redirects(0).ok(() => true)
      const [a, b] = await Promise.all([send(), send()])
      expect(a.headers.location).to.equal(b.headers.location)
      expect(await optOutEvents(carl)).to.have.length(1)
    })

    it('refuses a change without a CSRF token, and a tampered form, changing nothing', async () => {
      const bo = donorId('bo')
      const agent = await signedIn('bo')
      const before = await optOutEvents(bo)
      const noToken = await agent.post(`${app.baseUrl}/borger/fravalg`).type('form').send({ choice: 'material', optOut: 'no', formToken: crypto.randomUUID() }).redirects(0).ok(() => true)
      expect(noToken.status).to.equal(403)
      const page = await get(agent, `${app.baseUrl}/borger/fravalg`)
      const tampered = await agent
        .post(`${app.baseUrl}/borger/fravalg`)
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), choice: 'everything', optOut: 'no', formToken: 'x' })
        .redirects(0)
        .ok(() => true)
      expect(tampered.status).to.equal(400)
      expect(tampered.text).to.contain('Dit valg blev ikke registreret')
      expect(await optOutEvents(bo)).to.deep.equal(before)
    })
  })

  describe('acting for a child', () => {
    it('lets dorte switch to emil and opt out for him; his history says dorte acted', async () => {
      const agent = await signedIn('dorte')
      const start = await get(agent, `${app.baseUrl}/borger`)
      expect(start.text).to.contain('Handl for Emil Damgaard')
      // Frida is 15: the custody link grants nothing, so she is not offered.
      expect(start.text).not.to.contain('Frida')
      const emil = donorId('emil')
      const switched = await agent.post(`${app.baseUrl}/borger/handl-for`).type('form').send({ _csrf: csrfTokenOf(start.text), child: String(emil) }).redirects(0).ok(() => true)
      expect(switched.status).to.equal(303)

      const childStart = await get(agent, `${app.baseUrl}/borger`)
      expect(childStart.text).to.contain('Du handler for Emil Damgaard')
      const samples = await get(agent, `${app.baseUrl}/borger/proever`)
      const emilSamples = await publicIdsOf(emil)
      for (const s of emilSamples) expect(samples.text).to.contain(s.public_id)

      const { post } = await changeChoice(agent, 'material', true)
      expect(post.status).to.equal(303)
      const events = await optOutEvents(emil)
      expect(events.at(-1)).to.include({ acted_by: 'parent', acted_by_donor_id: donorId('dorte'), acted_by_name: 'Dorte Damgaard', choice: 'material', opted_out: true })
      expect(await optOutEvents(donorId('dorte'))).to.have.length(0)

      // Emil's own view of his history names his parent.
      const emilAgent = await signedIn('emil')
      const history = await get(emilAgent, `${app.baseUrl}/borger/fravalg`)
      expect(history.text).to.contain('Dorte Damgaard (forælder)')
    })

    it('grants nothing through a custody link to a 15-year-old', async () => {
      const agent = await signedIn('dorte')
      const start = await get(agent, `${app.baseUrl}/borger`)
      const res = await agent.post(`${app.baseUrl}/borger/handl-for`).type('form').send({ _csrf: csrfTokenOf(start.text), child: String(donorId('frida')) }).redirects(0).ok(() => true)
      expect(res.status).to.equal(404)
      const stranger = await agent.post(`${app.baseUrl}/borger/handl-for`).type('form').send({ _csrf: csrfTokenOf(start.text), child: String(donorId('anne')) }).redirects(0).ok(() => true)
      expect(stranger.status).to.equal(404)
      const page = await get(agent, `${app.baseUrl}/borger`)
      expect(page.text).to.contain('Velkommen, Dorte Damgaard')
    })

    it("ends the parent's access the moment the child turns 15", async () => {
      const agent = await signedIn('dorte')
      const start = await get(agent, `${app.baseUrl}/borger`)
      const emil = donorId('emil')
      await agent.post(`${app.baseUrl}/borger/handl-for`).type('form').send({ _csrf: csrfTokenOf(start.text), child: String(emil) }).redirects(0).ok(() => true)
      const [{ birth_date }] = (await query<{ birth_date: string }>('select birth_date from donors where id = :emil', { emil })) as [{ birth_date: string }]
      try {
        // Emil's 15th birthday is today.
        await query("update donors set birth_date = ((now() at time zone 'Europe/Copenhagen')::date - interval '15 years')::date where id = :emil", { emil })
        const res = await get(agent, `${app.baseUrl}/borger/proever`)
        expect(res.status).to.equal(303)
        expect(res.headers.location).to.equal('/borger?besked=barn-ikke-tilgaengeligt')
        const back = await get(agent, `${app.baseUrl}${res.headers.location!}`)
        expect(back.text).to.contain('Når et barn fylder 15 år, bestemmer det selv')
        expect(back.text).to.contain('Velkommen, Dorte Damgaard')
      } finally {
        await query('update donors set birth_date = :birth_date where id = :emil', { emil, birth_date })
      }
    })
  })

  describe('my data', () => {
    it("downloads everything about anne as JSON, and nobody else's samples", async () => {
      const agent = await signedIn('anne')
      const res = await get(agent, `${app.baseUrl}/borger/mine-data.json`)
      expect(res.status).to.equal(200)
      expect(res.headers['content-disposition']).to.contain('attachment')
      const data = JSON.parse(res.text) as { person: { cpr: string }; samples: { label: string; events: unknown[] }[]; choices: unknown; choiceHistory: unknown[]; accessLog: unknown[] }
      expect(data.person.cpr).to.equal(demoCitizen('anne').cpr)
      const own = await publicIdsOf(donorId('anne'))
      expect(data.samples.map((s) => s.label).sort()).to.deep.equal(own.map((s) => s.label))
      expect(data.samples.find((s) => s.label === 'RH-2024-000123')!.events.length).to.be.greaterThan(0)
      expect(data).to.have.property('choices')
      expect(data.choiceHistory).to.be.an('array')
      expect(data.accessLog).to.be.an('array')
      const [{ count }] = (await query<{ count: number }>("select count(*)::int as count from audit_events where action = 'citizen.download' and subject_donor_id = :anne", { anne: donorId('anne') })) as [{ count: number }]
      expect(count).to.be.greaterThan(0)
    })

    it('downloads a valid FHIR R4 Bundle with a Specimen per sample and a Consent', async () => {
      const agent = await signedIn('bo')
      const res = await get(agent, `${app.baseUrl}/borger/mine-data.fhir.json`)
      const bundle = JSON.parse(res.text) as { resourceType: string; entry: { resource: { resourceType: string } }[] }
      expect(validateFhir(bundle)).to.deep.equal([])
      const own = await publicIdsOf(donorId('bo'))
      expect(bundle.entry.filter((e) => e.resource.resourceType === 'Specimen')).to.have.length(own.length)
      expect(bundle.entry.filter((e) => e.resource.resourceType === 'Consent')).to.have.length(1)
      // Subject and patient point at the person's own Patient entry, which carries bo's CPR number.
      const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource as unknown as { id: string; identifier: { value: string }[] }
      expect(patient.identifier[0]!.value).to.equal(demoCitizen('bo').cpr)
      const references = bundle.entry.map((e) => e.resource as unknown as { subject?: { reference: string }; patient?: { reference: string } })
      for (const r of references.filter((x) => x.subject || x.patient)) expect((r.subject ?? r.patient)!.reference).to.equal(`Patient/${patient.id}`)
    })
  })

  it('keeps staff out of every citizen page', async () => {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'staff', 'henrik')
    for (const path of ['/borger', '/borger/proever', '/borger/fravalg', '/borger/adgang', '/borger/mine-data.json']) {
      const res = await get(agent, `${app.baseUrl}${path}`)
      expect(res.status, path).to.equal(403)
    }
  })
})
