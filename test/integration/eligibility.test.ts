// Research release that provably honours the VAR opt-out: a biobank admin registers a project and checks which
// samples may be released to it; opted-out donors' samples (their aliquots and derivatives too) never come out,
// excluded samples are only counted, and every check is stored with its proof and re-opens with the same answer.
import crypto from 'node:crypto'
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { ForbiddenError } from '../../server/services/authorization.ts'
import type { CitizenSubject } from '../../server/services/citizenService.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'
import { optOutOutcomeTable, UNAVAILABLE } from '../../server/services/eligibilityService.ts'
import { FirstOccurrences } from '../../server/services/firstOccurrences.ts'

interface SampleRow {
  id: number
  label: string
  lineage: string
  material_type: string
  availability: string
}

describe('research release: eligibility checks for a research project', function () {
  this.timeout(60_000)
  let app: TestApp
  let henrik: Agent
  let mette: Agent
  const projects: Record<'genetic' | 'material', string> = { genetic: '', material: '' }

  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

  /** The samples of a demo citizen in one biobank, with lineage (primary, aliquot, derivative). */
  const samplesOf = (userId: string, biobank: string) =>
    query<SampleRow>(
      `select s.id, s.label, s.lineage, s.material_type, s.availability from samples s join donors d on d.id = s.donor_id join biobanks b on b.id = s.biobank_id
        where d.cpr_hmac = :hmac and b.code = :biobank order by s.label`,
      { hmac: app.services.cpr.hash(demoCitizen(userId).cpr), biobank },
    )

  /** Other RH samples whose donors have not opted out and that are available: the list's filler. */
  const freeRhSamples = (count: number) =>
    query<SampleRow>(
      `select s.id, s.label, s.lineage, s.material_type, s.availability from samples s join biobanks b on b.id = s.biobank_id
        left join opt_outs o on o.donor_id = s.donor_id
        where b.code = 'RH' and s.availability = 'available' and not coalesce(o.material or o.genetic, false)
          and s.donor_id not in (select id from donors where cpr_hmac in (:anne, :bo))
        order by s.id limit :count`,
      { count, anne: app.services.cpr.hash(demoCitizen('anne').cpr), bo: app.services.cpr.hash(demoCitizen('bo').cpr) },
    )

  async function signedIn(userId: string): Promise<Agent> {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'staff', userId)
    return agent
  }

  async function tokenOf(agent: Agent, path = '/medarbejder/forskning'): Promise<string> {
    const page = await get(agent, `${app.baseUrl}${path}`)
    expect(page.status, path).to.equal(200)
    return csrfTokenOf(page.text)
  }

  async function createProject(agent: Agent, fields: Record<string, string>) {
    const _csrf = await tokenOf(agent, '/medarbejder/forskning/projekter/ny')
    return agent.post(`${app.baseUrl}/medarbejder/forskning/projekter`).type('form').send({ _csrf, ...fields }).redirects(0).ok(() => true)
  }

  /** Pastes labels into the project's form; resolves to the check page's path. */
  async function checkPasted(agent: Agent, projectPath: string, labels: string[], separator = '\n'): Promise<string> {
    const _csrf = await tokenOf(agent, projectPath)
    const posted = await agent.post(`${app.baseUrl}${projectPath}/tjek`).type('form').send({ _csrf, labels: labels.join(separator) }).redirects(0).ok(() => true)
    expect(posted.status, posted.text.slice(0, 500)).to.equal(303)
    expect(posted.headers.location).to.match(/^\/medarbejder\/forskning\/tjek\/[0-9a-f-]{36}$/)
    return posted.headers.location!
  }

  function countsOf(html: string): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const match of html.matchAll(/data-count="(\w+)">(\d+)</g)) counts[match[1]!] = Number(match[2])
    return counts
  }

  async function csvOf(agent: Agent, checkPath: string): Promise<string[]> {
    const csv = await get(agent, `${app.baseUrl}${checkPath}/eligible.csv`)
    expect(csv.status).to.equal(200)
    expect(csv.headers['content-type']).to.match(/^text\/csv/)
    const lines = csv.text.replace(/^\uFEFF/, '').split('\r\n').filter((line) => line !== '')
    expect(lines[0]).to.equal('sample_label')
    return lines.slice(1)
  }

  const itemsOf = (checkPath: string) =>
    query<{ position: number; label: string; sample_id: number | null; outcome: string }>(
      'select position, label, sample_id, outcome from eligibility_check_items where check_id = :id order by position',
      { id: checkPath.split('/').pop() },
    )

  async function citizenSubject(userId: string): Promise<CitizenSubject> {
    const [donor] = await query<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: app.services.cpr.hash(demoCitizen(userId).cpr) })
    const subject = await app.services.citizen.resolveSubject({ kind: 'citizen', donorId: donor!.id, name: demoCitizen(userId).name, loa: 'Substantial' })
    if (typeof subject === 'string') throw new Error(subject)
    return subject
  }

  /** The citizen's own digital change of one choice, as the opt-out page makes it; resolves once the receipt exists. */
  const optOut = async (userId: string, choice: 'material' | 'genetic', value = true) => {
    const result = await app.services.optOuts.change({ kind: 'citizen', subject: await citizenSubject(userId) }, { choice, optOut: value, formToken: crypto.randomUUID() })
    const state = result.outcome === 'unchanged' ? result.choices : result.receipt
    expect(state[choice]).to.equal(value)
  }

  before(async () => {
    app = await startTestApp()
    henrik = await signedIn('henrik')
    mette = await signedIn('mette')
    for (const [purpose, reference] of [['genetic', 'GEN-2026-01'], ['material', 'MAT-2026-01']] as const) {
      const created = await createProject(henrik, { title: `Projekt ${purpose}`, reference, approvalId: 'VEK-H-26012345', purpose, duoCode: purpose === 'genetic' ? 'HMB' : '' })
      expect(created.status, created.text.slice(0, 300)).to.equal(303)
      expect(created.headers.location).to.match(/^\/medarbejder\/forskning\/projekter\/\d+$/)
      projects[purpose] = created.headers.location!
    }
  })
  after(async () => {
    await app.close()
  })

  it('takes the opt-out rules from the domain functions: material excludes from everything, genetic from genetic research', () => {
    expect(optOutOutcomeTable('material')).to.deep.equal([null, null, 'excluded_material', 'excluded_material'])
    expect(optOutOutcomeTable('genetic')).to.deep.equal([null, 'excluded_genetic', 'excluded_material', 'excluded_material'])
    expect(optOutOutcomeTable('both')).to.deep.equal([null, 'excluded_genetic', 'excluded_material', 'excluded_material'])
    // 'reserved' is eligible: only samples that are gone are not available.
    expect(UNAVAILABLE).to.deep.equal(['distributed', 'depleted', 'destroyed'])
  })

  it('lists the projects henrik registered, and refuses a form with mistakes without storing anything', async () => {
    const list = await get(henrik, `${app.baseUrl}/medarbejder/forskning`)
    expect(list.status).to.equal(200)
    expect(list.text).to.contain('GEN-2026-01').and.to.contain('MAT-2026-01').and.to.contain('Genetiske data')

    const [before] = await query<{ n: number }>('select count(*)::int as n from research_projects')
    const bad = await createProject(henrik, { title: '', reference: 'GEN-2026-01', approvalId: '', purpose: 'everything', duoCode: 'XYZ' })
    expect(bad.status).to.equal(400)
    expect(bad.text).to.contain('Ret venligst følgende')
    expect(bad.text).to.contain('Skriv projektets titel')
    expect(bad.text).to.contain('Vælg, hvad projektet skal bruge.')
    expect(bad.text).to.contain('href="#purpose-0"')
    expect(bad.text).to.match(/aria-describedby="title-error"/)
    const taken = await createProject(henrik, { title: 'Igen', reference: 'GEN-2026-01', approvalId: 'VEK-1', purpose: 'material' })
    expect(taken.status).to.equal(400)
    expect(taken.text).to.contain('Der er allerede et projekt med den reference')
    const [after] = await query<{ n: number }>('select count(*)::int as n from research_projects')
    expect(after!.n).to.equal(before!.n)
  })

  it("never lets bo's samples out: his material opt-out excludes every one of them, even from a material-only project", async () => {
    // bo's samples are in RSD and RN; an RN admin is the one who can release them.
    const boSamples = await samplesOf('bo', 'RN')
    expect(boSamples.map((s) => s.lineage)).to.include('derivative')
    const rnUser = await app.services.auth.signInStaff({ sub: 'rn-admin', name: 'Rikke Nord', role: 'biobank_admin', biobank: 'RN' }, 'urn:test')
    const admin = (rnUser as { user: StaffSessionUser }).user
    const others = await query<{ label: string }>(
      `select s.label from samples s join biobanks b on b.id = s.biobank_id left join opt_outs o on o.donor_id = s.donor_id
        where b.code = 'RN' and s.availability = 'available' and not coalesce(o.material or o.genetic, false) order by s.id limit 5`,
    )
    const labels = [...boSamples.map((s) => s.label), ...others.map((o) => o.label)]
    for (const purpose of ['material', 'genetic'] as const) {
      const created = await app.services.eligibility.createProject(admin, { title: `Nord ${purpose}`, reference: `RN-${purpose}`, approvalId: 'VEK-N-1', purpose })
      const projectId = (created as { project: { id: number } }).project.id
      const summary = await app.services.eligibility.checkLabels({ kind: 'staff', user: admin }, projectId, labels, { source: 'list' })
      expect(summary.purpose).to.equal(purpose)
      expect(summary.excluded.material).to.equal(boSamples.length)
      const found = await app.services.eligibility.eligibleLabels({ kind: 'staff', user: admin }, summary.id)
      const eligible: string[] = []
      for await (const batch of found!.labels()) eligible.push(...batch)
      expect(eligible).to.deep.equal(others.map((o) => o.label))
      for (const sample of boSamples) expect(eligible).not.to.include(sample.label)
    }
  })

  it("excludes anne's samples from a genetic project after her genetic opt-out, but not from a material-only one", async () => {
    const anne = await samplesOf('anne', 'RH')
    const filler = await freeRhSamples(4)
    const labels = [...anne, ...filler].map((s) => s.label)
    const gone = anne.filter((s) => UNAVAILABLE.includes(s.availability as never))

    // Before her choice, her available samples may go to both projects.
    const beforeGenetic = countsOf((await get(henrik, `${app.baseUrl}${await checkPasted(henrik, projects.genetic, labels)}`)).text)
    expect(beforeGenetic).to.include({ eligible: labels.length - gone.length, genetic: 0, material: 0 })

    await optOut('anne', 'genetic')

    const geneticCheck = await checkPasted(henrik, projects.genetic, labels, ', ')
    const genetic = await get(henrik, `${app.baseUrl}${geneticCheck}`)
    expect(genetic.status).to.equal(200)
    expect(countsOf(genetic.text)).to.include({ eligible: filler.length, genetic: anne.length, material: 0, unknown: 0, requested: labels.length })
    expect(await csvOf(henrik, geneticCheck)).to.deep.equal(filler.map((s) => s.label))

    const materialCheck = await checkPasted(henrik, projects.material, labels)
    const material = countsOf((await get(henrik, `${app.baseUrl}${materialCheck}`)).text)
    expect(material).to.include({ eligible: labels.length - gone.length, genetic: 0, material: 0, notAvailable: gone.length })
    const materialCsv = await csvOf(henrik, materialCheck)
    for (const sample of anne.filter((s) => !gone.includes(s))) expect(materialCsv).to.include(sample.label)
    // A reserved sample is eligible: the reservation is the biobank's own to settle before release.
    expect(anne.some((s) => s.availability === 'reserved')).to.equal(true)
    for (const sample of anne.filter((s) => s.availability === 'reserved')) expect(materialCsv).to.include(sample.label)

    // The proof names every one of her samples as excluded for the genetic project, and by the reason.
    const items = await itemsOf(geneticCheck)
    for (const sample of anne) expect(items.find((i) => i.sample_id === Number(sample.id))?.outcome, sample.label).to.equal('excluded_genetic')
  })

  it("excludes the DNA derivative of a donor who opted out, through the donor: anne's material opt-out reaches her aliquots and derivatives", async () => {
    const anne = await samplesOf('anne', 'RH')
    const dna = anne.find((s) => s.lineage === 'derivative' && s.material_type === 'dna')
    const aliquot = anne.find((s) => s.lineage === 'aliquot')
    expect(dna, 'anne has a DNA derivative in RH').to.not.equal(undefined)
    expect(aliquot, 'anne has an aliquot in RH').to.not.equal(undefined)
    // Only the derivative and the aliquot are asked about, not their parent.
    const filler = await freeRhSamples(2)
    const labels = [dna!.label, aliquot!.label, ...filler.map((s) => s.label)]

    const genetic = await checkPasted(henrik, projects.genetic, labels)
    expect(await csvOf(henrik, genetic)).to.deep.equal(filler.map((s) => s.label))

    await optOut('anne', 'material')
    const material = await checkPasted(henrik, projects.material, labels)
    expect(countsOf((await get(henrik, `${app.baseUrl}${material}`)).text)).to.include({ material: 2, eligible: filler.length })
    expect(await csvOf(henrik, material)).to.deep.equal(filler.map((s) => s.label))
    const items = await itemsOf(material)
    expect(items.find((i) => i.label === dna!.label)?.outcome).to.equal('excluded_material')
    expect(items.find((i) => i.label === aliquot!.label)?.outcome).to.equal('excluded_material')
  })

  it('counts unknown labels (typing errors and other biobanks\' samples), and duplicates once', async () => {
    const [rm] = await samplesOf('anne', 'RM')
    const filler = await freeRhSamples(3)
    const labels = ['RH-DOES-NOT-EXIST', rm!.label, ...filler.map((s) => s.label), filler[0]!.label]
    const check = await checkPasted(henrik, projects.material, labels)
    const page = await get(henrik, `${app.baseUrl}${check}`)
    expect(countsOf(page.text)).to.include({ unknown: 2, eligible: 3, duplicates: 1, requested: labels.length })
    expect(page.text).to.contain('Svar: 3 af 5 prøver må udleveres')
    const english = await get(henrik, `${app.baseUrl}${check}?lang=en`)
    expect(english.text).to.contain('Answer: 3 of 5 samples may be released').and.to.contain('Download the 3 samples that may be released (CSV)')
    await get(henrik, `${app.baseUrl}${check}?lang=da`) // back to Danish for the tests after this one
    const items = await itemsOf(check)
    expect(items.map((i) => i.outcome)).to.deep.equal(['unknown', 'unknown', 'eligible', 'eligible', 'eligible'])
    expect(items.map((i) => i.position)).to.deep.equal([1, 2, 3, 4, 5])
  })

  it("shows only counts: no label of an opted-out donor's sample is on the answer page or in the CSV", async () => {
    await optOut('anne', 'material', true)
    const anne = await samplesOf('anne', 'RH')
    const filler = await freeRhSamples(3)
    const check = await checkPasted(henrik, projects.genetic, [...anne, ...filler].map((s) => s.label))
    const page = await get(henrik, `${app.baseUrl}${check}`)
    const csv = await csvOf(henrik, check)
    for (const sample of anne) {
      expect(page.text).not.to.contain(sample.label)
      expect(csv).not.to.include(sample.label)
    }
    expect(csv).to.deep.equal(filler.map((s) => s.label))
    expect(page.text).to.contain('Prøver, der er udelukket, nævnes ikke')
  })

  it('re-opens a check with the same stored answer after the register changed, with its proof and one audit event', async () => {
    const anne = await samplesOf('anne', 'RH')
    const filler = await freeRhSamples(2)
    const labels = [...filler, ...anne].map((s) => s.label)
    // anne withdraws her material opt-out (her genetic one stays): a new register version.
    await optOut('anne', 'material', false)
    const [{ version }] = (await query<{ version: number }>('select max(id) as version from opt_out_events')) as [{ version: number }]
    const check = await checkPasted(henrik, projects.material, labels)
    const first = await get(henrik, `${app.baseUrl}${check}`)
    const firstCsv = await csvOf(henrik, check)
    expect(countsOf(first.text)).to.include({ material: 0, genetic: 0 })

    // The register changes after the check: the stored answer does not.
    await optOut('anne', 'material', true)
    const again = await get(henrik, `${app.baseUrl}${check}`)
    expect(countsOf(again.text)).to.deep.equal(countsOf(first.text))
    expect(await csvOf(henrik, check)).to.deep.equal(firstCsv)
    // A new check sees the new register.
    const newer = countsOf((await get(henrik, `${app.baseUrl}${await checkPasted(henrik, projects.material, labels)}`)).text)
    expect(newer.material).to.equal(anne.length)

    // The proof: register version, snapshot, the SHA-256 of the exact list, the counts; listed on the project page.
    const checkId = check.split('/').pop()!
    const storedBefore = await query('select label, outcome from eligibility_check_items where check_id = :checkId order by position', { checkId })
    expect(storedBefore).to.have.length(labels.length)
    const [row] = await query<{ register_version: number; snapshot: string; requested_sha256: string; requested_count: number; staff_user_id: number; created_at: Date }>(
      'select * from eligibility_checks where id = :checkId',
      { checkId },
    )
    expect(row!.register_version).to.equal(version)
    expect(row!.snapshot).to.match(/^\d+:\d+:[\d,]*$/)
    expect(row!.requested_sha256).to.equal(crypto.createHash('sha256').update(labels.map((l) => `${l}\n`).join('')).digest('hex'))
    expect(row!.requested_count).to.equal(labels.length)
    expect(first.text).to.contain(row!.requested_sha256).and.to.contain(row!.snapshot)
    const project = await get(henrik, `${app.baseUrl}${projects.material}`)
    expect(project.text).to.contain(`/medarbejder/forskning/tjek/${checkId}`)

    const audit = await query<{ actor_staff_id: number; actor_kind: string; details: Record<string, unknown> }>(
      "select actor_staff_id, actor_kind, details from audit_events where action = 'eligibility.check' and details->>'checkId' = :checkId",
      { checkId },
    )
    expect(audit).to.have.length(1)
    expect(audit[0]).to.deep.include({ actor_kind: 'staff', actor_staff_id: row!.staff_user_id })
    expect(audit[0]!.details).to.deep.include({ requested: labels.length, eligible: countsOf(first.text).eligible, projectId: Number(projects.material.split('/').pop()) })
    // The stored answer cannot be changed afterwards (the per-label view eligibility_check_items has no storage).
    for (const sql of [
      "update eligibility_check_chunks set outcomes = array_fill('eligible'::text, array[cardinality(outcomes)]) where check_id = :checkId",
      'delete from eligibility_check_chunks where check_id = :checkId',
    ]) {
      const tamper = await app.services.database.sequelize.query(sql, { replacements: { checkId } }).then(
        () => 'changed',
        (error: { parent?: { code?: string } }) => error.parent?.code,
      )
      expect(tamper, sql).to.equal('42501')
    }
    expect(await query('select label, outcome from eligibility_check_items where check_id = :checkId order by position', { checkId })).to.deep.equal(
      storedBefore,
    )
  })

  it('refuses the registrar, the auditor and another biobank\'s admin', async () => {
    const stine = await signedIn('stine')
    const revisor = await signedIn('revisor')
    const check = await checkPasted(henrik, projects.material, (await freeRhSamples(2)).map((s) => s.label))
    for (const [agent, who] of [[stine, 'stine'], [revisor, 'revisor']] as const) {
      for (const path of ['/medarbejder/forskning', projects.material, check, `${check}/eligible.csv`, '/medarbejder/forskning/api-noegler']) {
        expect((await get(agent, `${app.baseUrl}${path}`)).status, `${who} ${path}`).to.equal(403)
      }
    }
    // mette is an admin, but of RM: henrik's project, check and CSV are not hers, and she cannot tell them from ids
    // that do not exist.
    const missingProject = `${projects.material.replace(/\/\d+$/, '')}/999999`
    const missingCheck = `${check.replace(/[0-9a-f-]{36}$/, '')}${crypto.randomUUID()}`
    for (const path of [projects.material, check, `${check}/eligible.csv`]) {
      expect((await get(mette, `${app.baseUrl}${path}`)).status, `mette ${path}`).to.equal(404)
    }
    const headingOf = (html: string) => /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim()
    expect(headingOf((await get(mette, `${app.baseUrl}${projects.material}`)).text)).to.equal(headingOf((await get(mette, `${app.baseUrl}${missingProject}`)).text))
    expect(headingOf((await get(mette, `${app.baseUrl}${check}`)).text)).to.equal(headingOf((await get(mette, `${app.baseUrl}${missingCheck}`)).text))
    const _csrf = await tokenOf(mette)
    const posted = await mette.post(`${app.baseUrl}${projects.material}/tjek`).type('form').send({ _csrf, labels: 'RH-2024-000123' }).redirects(0).ok(() => true)
    expect(posted.status).to.equal(404)
    // The service refuses too, whatever a route does.
    const [stineRow] = await query<{ id: number }>("select id from staff_users where role = 'registrar' limit 1")
    const stineUser: StaffSessionUser = { kind: 'staff', staffUserId: stineRow!.id, name: 'Stine', role: 'registrar', biobankId: 1, biobankCode: 'RH' }
    const refused = await app.services.eligibility.checkLabels({ kind: 'staff', user: stineUser }, Number(projects.material.split('/').pop()), ['X'], { source: 'list' }).catch((e: unknown) => e)
    expect(refused).to.be.instanceOf(ForbiddenError)
  })

  it('takes an uploaded file of labels, and refuses a file that is too large with a Danish 413 page', async () => {
    const filler = await freeRhSamples(3)
    const page = await get(henrik, `${app.baseUrl}${projects.material}`)
    const _csrf = csrfTokenOf(page.text)
    // The app's CSRF check reads the token from the header for multipart forms (see the report); the route
    // checks the form's own field after reading the upload.
    const upload = (content: Buffer, token = _csrf) =>
      henrik.post(`${app.baseUrl}${projects.material}/tjek/fil`).set('x-csrf-token', _csrf).field('_csrf', token).attach('file', content, 'labels.csv').redirects(0).ok(() => true)
    const posted = await upload(Buffer.from(`sample_label\r\n${filler.map((s) => s.label).join('\r\n')}\r\n`))
    expect(posted.status, posted.text.slice(0, 300)).to.equal(303)
    expect(await csvOf(henrik, posted.headers.location!)).to.deep.equal(filler.map((s) => s.label))
    expect(countsOf((await get(henrik, `${app.baseUrl}${posted.headers.location!}`)).text)).to.include({ requested: 3, unknown: 0 })

    const tooLarge = await upload(Buffer.alloc(33 * 1024 * 1024, 'A\n'))
    expect(tooLarge.status).to.equal(413)
    expect(tooLarge.text).to.contain('Filen er for stor')
    expect(tooLarge.text).to.match(/aria-describedby="file-hint file-error"/)

    const forged = await upload(Buffer.from('X\n'), 'forged')
    expect(forged.status).to.equal(403)
  })

  it('checks the samples a search finds (material DNA), in the same snapshot, and remembers the criteria', async () => {
    const _csrf = await tokenOf(henrik, `/medarbejder/forskning/soegning?project=${projects.genetic.split('/').pop()}&materialType=dna`)
    const posted = await henrik
      .post(`${app.baseUrl}/medarbejder/forskning/soegning`)
      .type('form')
      .send({ _csrf, project: projects.genetic.split('/').pop(), materialType: 'dna', label: '', collectedFrom: '', collectedTo: '', availability: '' })
      .redirects(0)
      .ok(() => true)
    expect(posted.status, posted.text.slice(0, 500)).to.equal(303)
    const [{ n }] = (await query<{ n: number }>("select count(*)::int as n from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RH' and s.material_type = 'dna'")) as [{ n: number }]
    const page = await get(henrik, `${app.baseUrl}${posted.headers.location!}`)
    const counts = countsOf(page.text)
    expect(counts.requested).to.equal(n)
    expect(counts.unknown).to.equal(0)
    expect(counts.genetic! + counts.material!).to.be.greaterThan(0) // anne's DNA at least
    expect(page.text).to.contain('materialType=dna')

    const bad = await henrik.post(`${app.baseUrl}/medarbejder/forskning/soegning`).type('form').send({ _csrf, project: '', materialType: 'blood', collectedFrom: '2024-13-01' }).redirects(0).ok(() => true)
    expect(bad.status).to.equal(400)
    expect(bad.text).to.contain('Vælg et projekt.').and.to.contain('Vælg et materiale fra listen.').and.to.contain('Skriv en dato som ÅÅÅÅ-MM-DD.')
  })

  it('decides a list of more than 10,000 labels through a table of its own, as a short list is decided, and leaves no table behind', async () => {
    const [row] = await query<{ id: number; biobank_id: number }>("select id, biobank_id from staff_users where name = 'Henrik Holm'")
    const user: StaffSessionUser = { kind: 'staff', staffUserId: row!.id, name: 'Henrik Holm', role: 'biobank_admin', biobankId: row!.biobank_id, biobankCode: 'RH' }
    const requester = { kind: 'staff' as const, user }
    const projectId = Number(projects.genetic.split('/').pop())
    const workTables = async () => (await query<{ n: number }>("select count(*)::int as n from pg_tables where schemaname = 'eligibility_work'"))[0]!.n
    const rh = (await query<{ label: string }>("select s.label from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RH' order by s.label")).map((r) => r.label)
    expect(rh.length).to.be.greaterThan(50)
    // A short list (decided from memory) and a long one (copied into a work table): the RH samples, then 12,000
    // unknown labels, one shaped like a CPR number, and every RH label again.
    const short = await app.services.eligibility.checkLabels(requester, projectId, rh, { source: 'list' })
    const unknown = Array.from({ length: 12_000 }, (_, i) => `UKENDT-${i}`)
    unknown[7] = '0101011234'
    // Some of these first occurrences share their bit with an earlier label, so they are held back and copied last:
    // both ways through FirstOccurrences are decided here.
    const probe = new FirstOccurrences()
    const heldFirsts = [...rh, ...unknown].filter((label) => !probe.add(label))
    expect(heldFirsts.length, 'first occurrences held back').to.be.greaterThan(0)
    const long = await app.services.eligibility.checkLabels(requester, projectId, [...rh, ...unknown, ...rh], { source: 'list' })
    expect(long.requested).to.equal(2 * rh.length + unknown.length)
    expect(long.duplicates).to.equal(rh.length)
    expect(long.excluded.unknown).to.equal(unknown.length)
    expect({ eligible: long.eligible, ...long.excluded, unknown: 0 }).to.deep.equal({ eligible: short.eligible, ...short.excluded, unknown: 0 })
    const answer = (checkId: string) =>
      query<{ position: number; label: string; sample_id: number | null; outcome: string }>(
        'select position, label, sample_id, outcome from eligibility_check_items where check_id = :checkId order by position',
        { checkId },
      )
    const [shortAnswer, longAnswer] = [await answer(short.id), await answer(long.id)]
    // Every RH label decided alike, at its first position; the unknown ones after them, the CPR-shaped one masked.
    expect(longAnswer.slice(0, rh.length)).to.deep.equal(shortAnswer)
    expect(longAnswer).to.have.length(rh.length + unknown.length)
    expect(longAnswer[rh.length + 7]).to.deep.equal({ position: rh.length + 8, label: '010101-****', sample_id: null, outcome: 'unknown' })
    expect(longAnswer.slice(rh.length).every((item, i) => item.outcome === 'unknown' && item.position === rh.length + i + 1)).to.equal(true)
    // Stored in chunks of 50 positions.
    const misplaced = await query(
      'select c.chunk, p.position from eligibility_check_chunks c cross join unnest(c.positions) as p (position) where c.check_id = :checkId and c.chunk <> (p.position - 1) / 50',
      { checkId: long.id },
    )
    expect(misplaced).to.deep.equal([])
    expect(await workTables()).to.equal(0)

    // A label refused in the middle of a long list: nothing is stored, and no work table is left either.
    const [before] = await query<{ n: number }>('select count(*)::int as n from eligibility_checks')
    const refused = await app.services.eligibility.checkLabels(requester, projectId, [...unknown, 'TAB\tTAB', ...rh], { source: 'list' }).then(
      () => 'checked',
      (error: Error) => error.constructor.name,
    )
    expect(refused).to.equal('LabelError')
    expect((await query<{ n: number }>('select count(*)::int as n from eligibility_checks'))[0]).to.deep.equal(before)
    expect(await workTables()).to.equal(0)
  })

  it('refuses an empty list or a label that cannot be one, and stores (and audits) nothing', async () => {
    const counts = "select (select count(*) from eligibility_checks)::int as n, (select count(*) from audit_events where action = 'eligibility.check')::int as audited"
    const [before] = await query<{ n: number; audited: number }>(counts)
    const _csrf = await tokenOf(henrik, projects.material)
    const empty = await henrik.post(`${app.baseUrl}${projects.material}/tjek`).type('form').send({ _csrf, labels: ' \n , ' }).redirects(0).ok(() => true)
    expect(empty.status).to.equal(400)
    expect(empty.text).to.contain('Indsæt mindst én etiket.')
    const long = await henrik.post(`${app.baseUrl}${projects.material}/tjek`).type('form').send({ _csrf, labels: `OK-1\n${'L'.repeat(65)}` }).redirects(0).ok(() => true)
    expect(long.status).to.equal(400)
    expect(long.text).to.contain('er for lang')
    expect(long.text).to.contain(`${'L'.repeat(40)}…`)
    const [after] = await query<{ n: number; audited: number }>(counts)
    expect(after).to.deep.equal(before)
  })
})
