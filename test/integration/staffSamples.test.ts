// Staff registering, editing and viewing samples: the sample service on a real database (rules, authorisation,
// audit, optimistic locking) and the pages through the real app, signed in through the development provider.
import { expect } from 'chai'
import { startTestApp, capturedLogLines, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { demoCitizen, demoStaff } from '../../seeders/demoPeople.ts'
import { ForbiddenError } from '../../server/services/authorization.ts'
import { SampleNotFoundError, type FieldError } from '../../server/services/sampleService.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'

// Fictitious CPR numbers with a 7th digit (3, 1900s) that no demo donor in the test template uses.
const NEW_CPR = '2207853456'
const OTHER_NEW_CPR = '1104923711'
const ANNE_CPR = demoCitizen('anne').cpr

/** A valid registration form; tests override what they need. */
function validForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    label: `T-${Math.random().toString(36).slice(2, 10)}`,
    donorCpr: `${NEW_CPR.slice(0, 6)}-${NEW_CPR.slice(6)}`,
    materialType: 'whole-blood',
    storageTemperature: '-60to-85',
    collectedDate: '12-03-2025',
    collectedTime: '08:40',
    quantity: '4,5',
    quantityUnit: 'mL',
    storageLocation: '',
    sprec: '',
    diagnosis: '',
    availability: 'available',
    ...overrides,
  }
}

let placeCounter = 0
const freePlace = () => `TESTFRYS/R${++placeCounter}/B1/A1`

const codes = (errors: FieldError[]) => errors.map((e) => `${e.field}:${e.code}`).sort()

describe('staff samples: register, view, edit, events, lineage', function () {
  let app: TestApp
  const users: Record<string, StaffSessionUser> = {}

  before(async function () {
    this.timeout(120_000) // the first run builds the test database template
    app = await startTestApp()
    // Staff users as the sign-in makes them (the same rows a login through the provider finds again).
    const { roleClaim, biobankClaim } = app.services.config.auth.staff
    for (const staff of demoStaff) {
      const result = await app.services.auth.signInStaff({ sub: staff.userId, name: staff.name, [roleClaim]: staff.role, ...(staff.biobank ? { [biobankClaim]: staff.biobank } : {}) }, 'https://test.example/staff')
      if (!('user' in result)) throw new Error(`could not sign in ${staff.userId}`)
      users[staff.userId] = result.user
    }
  })

  after(async () => {
    await app?.close()
  })

  const db = () => app.services.database
  const sampleByLabel = (label: string) => db().models.Sample.findOne({ where: { label } })
  const publicIdOf = async (label: string) => (await sampleByLabel(label))!.publicId
  const count = (table: string) => db().pool.query<{ n: string }>(`select count(*) as n from ${table}`).then((r) => Number(r.rows[0]!.n))
  const auditOf = (action: string, sampleId: number) => db().models.AuditEvent.findAll({ where: { action, sampleId } })

  async function register(user: string, overrides: Record<string, string> = {}) {
    const form = validForm(overrides)
    const result = await app.services.samples.registerSample(users[user]!, form)
    if (!result.ok) throw new Error(`registration failed: ${codes(result.errors).join(', ')}`)
    return { publicId: result.publicId, label: form.label! }
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise
    } catch (error) {
      return error
    }
    return expect.fail('expected the call to be refused')
  }

  describe('the sample service', () => {
    it('registers a sample of a new donor: the donor stored only as HMAC and ciphertext, a collected event, and an audited sample.create', async () => {
      const donorsBefore = await count('donors')
      const form = validForm({ diagnosis: 'dc509', sprec: 'ser-sst-a-d-n-a-d', storageLocation: freePlace() })
      const result = await app.services.samples.registerSample(users.stine!, form, { requestId: 'req-1' })
      expect(result.ok).to.equal(true)
      const sample = (await sampleByLabel(form.label!))!
      expect(sample.biobankId).to.equal(users.stine!.biobankId)
      expect(sample.lineage).to.equal('primary')
      expect(sample.diagnosis, 'SKS normalised to ICD-10').to.equal('C50.9')
      expect(sample.sprec).to.equal('SER-SST-A-D-N-A-D')
      expect(sample.quantity).to.equal('4.500')
      expect(sample.collectedAt.toISOString(), '08:40 Danish winter time').to.equal('2025-03-12T07:40:00.000Z')
      expect(await count('donors')).to.equal(donorsBefore + 1)
      const donor = (await db().models.Donor.findByPk(sample.donorId))!
      expect(donor.cprHmac.equals(app.services.cpr.hash(NEW_CPR))).to.equal(true)
      expect(app.services.cpr.decrypt(donor.cprEncrypted)).to.equal(NEW_CPR)
      expect(donor.birthDate).to.equal('1985-07-22')
      const events = await db().models.SampleEvent.findAll({ where: { sampleId: sample.id } })
      expect(events.map((e) => e.eventType)).to.deep.equal(['collected'])
      expect(Number(events[0]!.staffUserId)).to.equal(users.stine!.staffUserId)
      const audits = await auditOf('sample.create', sample.id)
      expect(audits).to.have.length(1)
      expect(Number(audits[0]!.subjectDonorId)).to.equal(Number(sample.donorId))
      expect(Number(audits[0]!.actorStaffId)).to.equal(users.stine!.staffUserId)
      expect(audits[0]!.requestId).to.equal('req-1')
      expect(JSON.stringify(audits[0]!.details)).not.to.contain(NEW_CPR.slice(0, 6))
    })

    it('finds an existing donor by CPR instead of creating another', async () => {
      const anne = (await db().models.Donor.findOne({ where: { cprHmac: app.services.cpr.hash(ANNE_CPR) } }))!
      const donorsBefore = await count('donors')
      const { label } = await register('stine', { donorCpr: ANNE_CPR })
      expect(Number((await sampleByLabel(label))!.donorId)).to.equal(Number(anne.id))
      expect(await count('donors')).to.equal(donorsBefore)
    })

    it('reports every bad field at once with a code per field, and writes nothing', async () => {
      const before = await Promise.all(['samples', 'donors', 'sample_events', 'audit_events'].map(count))
      const result = await app.services.samples.registerSample(users.stine!, {
        label: 'has space',
        donorCpr: '3102851234',
        materialType: 'blood',
        storageTemperature: '',
        collectedDate: '12-03-2999',
        quantity: '-1',
        quantityUnit: 'mL',
        storageLocation: 'FRYS1/R1/B1',
        sprec: 'SER-SST',
        diagnosis: 'cancer',
        availability: 'lost',
      })
      expect(result.ok).to.equal(false)
      expect(codes((result as { errors: FieldError[] }).errors)).to.deep.equal(
        [
          'label:label.format',
          'donorCpr:cpr.date',
          'materialType:materialType.invalid',
          'storageTemperature:storageTemperature.required',
          'collectedDate:collectedDate.future',
          'quantity:quantity.format',
          'storageLocation:storageLocation.format',
          'sprec:sprec.format',
          'diagnosis:diagnosis.format',
          'availability:availability.invalid',
        ].sort(),
      )
      expect(await Promise.all(['samples', 'donors', 'sample_events', 'audit_events'].map(count))).to.deep.equal(before)
    })

    it('wants quantity and unit together, and refuses a label shaped like a CPR number', async () => {
      const noUnit = await app.services.samples.registerSample(users.stine!, validForm({ quantityUnit: '' }))
      expect(codes((noUnit as { errors: FieldError[] }).errors)).to.deep.equal(['quantityUnit:quantityUnit.withoutUnit'])
      const noQuantity = await app.services.samples.registerSample(users.stine!, validForm({ quantity: '' }))
      expect(codes((noQuantity as { errors: FieldError[] }).errors)).to.deep.equal(['quantity:quantity.withoutQuantity'])
      const cprLabel = await app.services.samples.registerSample(users.stine!, validForm({ label: ANNE_CPR }))
      expect(codes((cprLabel as { errors: FieldError[] }).errors)).to.deep.equal(['label:label.looksLikeCpr'])
      const neither = await app.services.samples.registerSample(users.stine!, validForm({ quantity: '', quantityUnit: '' }))
      expect(neither.ok).to.equal(true)
    })

    it('keeps labels unique per biobank and one stored sample per storage place; a destroyed sample frees its place', async () => {
      const place = freePlace()
      const first = await register('stine', { storageLocation: place })
      const sameLabel = await app.services.samples.registerSample(users.stine!, validForm({ label: first.label }))
      expect(codes((sameLabel as { errors: FieldError[] }).errors)).to.deep.equal(['label:label.taken'])
      const samePlace = await app.services.samples.registerSample(users.henrik!, validForm({ storageLocation: place }))
      expect(codes((samePlace as { errors: FieldError[] }).errors)).to.deep.equal(['storageLocation:storageLocation.taken'])
      // The same label and place in another biobank are fine.
      const inRm = await app.services.samples.registerSample(users.mette!, validForm({ label: first.label, storageLocation: place }))
      expect(inRm.ok).to.equal(true)
      // Destroyed, the place is free again.
      const version = (await sampleByLabel(first.label))!.version
      const destroyed = await app.services.samples.recordEvent(users.stine!, first.publicId, { eventType: 'destroyed', occurredDate: '13-03-2025', occurredTime: '10:00', version: String(version) })
      expect(destroyed.ok).to.equal(true)
      expect((await app.services.samples.registerSample(users.stine!, validForm({ storageLocation: place }))).ok).to.equal(true)
    })

    it('maps the storage-place unique index to a field error when two registrations race for one place', async () => {
      const place = freePlace()
      const results = await Promise.all([0, 1, 2].map(() => app.services.samples.registerSample(users.stine!, validForm({ storageLocation: place }))))
      expect(results.filter((r) => r.ok)).to.have.length(1)
      for (const refused of results.filter((r) => !r.ok)) expect(codes((refused as { errors: FieldError[] }).errors)).to.deep.equal(['storageLocation:storageLocation.taken'])
      const stored = await db().models.Sample.count({ where: { storageLocation: place } })
      expect(stored).to.equal(1)
    })

    it('lets a registrar of RH neither register nor change samples of RM', async () => {
      const before = await count('samples')
      expect(await rejection(app.services.samples.registerSample(users.stine!, validForm({ biobank: 'RM' })))).to.be.instanceOf(ForbiddenError)
      expect(await count('samples')).to.equal(before)
      const rmSample = (await sampleByLabel('RM-2019-000871'))!
      const form = { version: String(rmSample.version), materialType: 'tissue-ffpe', storageTemperature: 'rt', collectedDate: '20-05-2019', collectedTime: '12:30', availability: 'destroyed' }
      // Another biobank's sample is not even there for her (404), and it stays as it was.
      expect(await rejection(app.services.samples.updateSample(users.stine!, rmSample.publicId, form))).to.be.instanceOf(SampleNotFoundError)
      expect(await rejection(app.services.samples.recordEvent(users.stine!, rmSample.publicId, { eventType: 'destroyed', occurredDate: '01-01-2025', occurredTime: '10:00', version: String(rmSample.version) }))).to.be.instanceOf(SampleNotFoundError)
      expect(await rejection(app.services.samples.deriveSample(users.stine!, rmSample.publicId, { lineage: 'aliquot', label: 'X-1', materialType: 'tissue-ffpe', storageTemperature: 'rt', availability: 'available' }))).to.be.instanceOf(SampleNotFoundError)
      expect(await rejection(app.services.samples.getSample(users.stine!, rmSample.publicId))).to.be.instanceOf(SampleNotFoundError)
      const after = (await sampleByLabel('RM-2019-000871'))!
      expect([after.availability, after.version]).to.deep.equal([rmSample.availability, rmSample.version])
      // Mette, admin in RM, may.
      expect((await app.services.samples.getSampleForEdit(users.mette!, rmSample.publicId)).label).to.equal('RM-2019-000871')
    })

    it('lets the auditor read every biobank and change nothing', async () => {
      const rmSample = (await sampleByLabel('RM-2019-000871'))!
      const detail = await app.services.samples.getSample(users.revisor!, rmSample.publicId)
      expect(detail.sample.label).to.equal('RM-2019-000871')
      expect(detail.mayChange).to.equal(false)
      const before = await Promise.all(['samples', 'sample_events'].map(count))
      const version = String(rmSample.version)
      for (const attempt of [
        app.services.samples.startRegistration(users.revisor!),
        app.services.samples.registerSample(users.revisor!, validForm()),
        app.services.samples.registerSample(users.revisor!, validForm({ biobank: 'RM' })),
        app.services.samples.getSampleForEdit(users.revisor!, rmSample.publicId),
        app.services.samples.updateSample(users.revisor!, rmSample.publicId, { version, availability: 'destroyed' }),
        app.services.samples.recordEvent(users.revisor!, rmSample.publicId, { version, eventType: 'thawed', occurredDate: '01-01-2025', occurredTime: '10:00' }),
        app.services.samples.deriveSample(users.revisor!, rmSample.publicId, { lineage: 'aliquot' }),
      ]) {
        expect(await rejection(attempt)).to.be.instanceOf(ForbiddenError)
      }
      expect(await Promise.all(['samples', 'sample_events'].map(count))).to.deep.equal(before)
    })

    it('shows the sample with the donor masked, the lineage from the primary down, the events, and audits the view', async () => {
      const anneDna = (await sampleByLabel('RH-2024-000123-03'))!
      const detail = await app.services.samples.getSample(users.henrik!, anneDna.publicId, { requestId: 'view-1' })
      expect(detail.donorCprMasked).to.equal(`${ANNE_CPR.slice(0, 6)}-****`)
      expect(detail.sample.parent?.label).to.equal('RH-2024-000123')
      expect(detail.lineage.label, 'the tree starts at the primary').to.equal('RH-2024-000123')
      // Only the path down to this sample (and its own descendants), not the parent's other children.
      expect(detail.lineage.children.map((c) => c.label)).to.deep.equal(['RH-2024-000123-03'])
      expect(detail.lineage.children[0]!.current).to.equal(true)
      expect(detail.events.map((e) => e.eventType)).to.deep.equal(['processed', 'frozen'])
      const views = await auditOf('sample.view', anneDna.id)
      expect(views.map((v) => [Number(v.subjectDonorId), v.requestId])).to.deep.include([Number(anneDna.donorId), 'view-1'])

      const primary = await app.services.samples.getSample(users.henrik!, (await sampleByLabel('RH-2024-000123'))!.publicId)
      expect(primary.lineage.current).to.equal(true)
      expect(primary.lineage.children.map((c) => c.label)).to.deep.equal(['RH-2024-000123-01', 'RH-2024-000123-02', 'RH-2024-000123-03'])
    })

    it('answers 404 for an unknown id and for something that is not a uuid', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1' or '1'='1", '']) {
        expect(await rejection(app.services.samples.getSample(users.revisor!, id))).to.be.instanceOf(SampleNotFoundError)
      }
    })

    it('saves an edit on the current version, records an availability change as an event, and refuses an edit based on an old version', async () => {
      const { publicId, label } = await register('stine')
      const sample = (await sampleByLabel(label))!
      const base = { materialType: 'whole-blood', storageTemperature: '-60to-85', collectedDate: '12-03-2025', collectedTime: '08:40', quantity: '4.5', quantityUnit: 'mL', availability: 'available', version: String(sample.version) }
      // Two colleagues open the form on the same version.
      const first = await app.services.samples.updateSample(users.stine!, publicId, { ...base, availability: 'reserved', diagnosis: 'C50.9' })
      expect(first).to.deep.equal({ ok: true, changed: true })
      const second = await app.services.samples.updateSample(users.henrik!, publicId, { ...base, storageTemperature: 'ln-vapor' })
      expect(second.ok).to.equal(false)
      const conflict = (second as { conflict: { availability: string; diagnosis: string; version: number; lastChange: { by: string } } }).conflict
      expect([conflict.availability, conflict.diagnosis, conflict.version, conflict.lastChange.by]).to.deep.equal(['reserved', 'C50.9', sample.version + 1, 'Stine Sørensen'])
      const stored = (await sampleByLabel(label))!
      expect(stored.storageTemperature, 'never a silent overwrite').to.equal('-60to-85')
      expect(stored.version).to.equal(sample.version + 1)
      const events = await db().models.SampleEvent.findAll({ where: { sampleId: sample.id, eventType: 'availability_changed' } })
      expect(events.map((e) => e.details)).to.deep.equal([{ from: 'available', to: 'reserved' }])
      const updates = await auditOf('sample.update', sample.id)
      expect(updates).to.have.length(1)
      expect(updates[0]!.details).to.deep.include({ changed: ['diagnosis', 'availability'] })
      expect(Number(updates[0]!.subjectDonorId)).to.equal(Number(sample.donorId))
      // Unchanged input on the current version writes nothing.
      const same = await app.services.samples.updateSample(users.stine!, publicId, { ...base, availability: 'reserved', diagnosis: 'C50.9', version: String(sample.version + 1) })
      expect(same).to.deep.equal({ ok: true, changed: false })
      expect((await sampleByLabel(label))!.version).to.equal(sample.version + 1)
    })

    it('refuses an edit that would put the sample on an occupied place, or an aliquot on another material', async () => {
      const occupied = freePlace()
      await register('stine', { storageLocation: occupied })
      const { publicId, label } = await register('stine')
      const version = String((await sampleByLabel(label))!.version)
      const base = { materialType: 'whole-blood', storageTemperature: '-60to-85', collectedDate: '12-03-2025', availability: 'available', quantity: '1', quantityUnit: 'mL', version }
      const result = await app.services.samples.updateSample(users.stine!, publicId, { ...base, storageLocation: occupied })
      expect(codes((result as { errors: FieldError[] }).errors)).to.deep.equal(['storageLocation:storageLocation.taken'])
      const plasmaAliquot = (await sampleByLabel('RH-2024-000123-01'))!
      const aliquot = formFor(plasmaAliquot)
      const changed = await app.services.samples.updateSample(users.stine!, plasmaAliquot.publicId, { ...aliquot, materialType: 'serum' })
      expect(codes((changed as { errors: FieldError[] }).errors)).to.deep.equal(['materialType:materialType.aliquotSame'])
    })

    it('records events: moved takes a new place, distributed and destroyed set the availability, each audited with a sample event', async () => {
      const from = freePlace()
      const to = freePlace()
      const { publicId, label } = await register('stine', { storageLocation: from })
      const sample = (await sampleByLabel(label))!
      const moved = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'moved', occurredDate: '14-03-2025', occurredTime: '09:15', newLocation: to, note: 'Fryser 1 defekt', version: String(sample.version) })
      expect(moved.ok).to.equal(true)
      let stored = (await sampleByLabel(label))!
      expect([stored.storageLocation, stored.version]).to.deep.equal([to, sample.version + 1])
      // A stale version (the page from before the move) is a conflict, and nothing is recorded.
      const stale = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'thawed', occurredDate: '14-03-2025', occurredTime: '10:00', version: String(sample.version) })
      expect('conflict' in stale).to.equal(true)
      const thawed = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'thawed', occurredDate: '14-03-2025', occurredTime: '10:00', version: String(stored.version) })
      expect(thawed.ok).to.equal(true)
      expect((await sampleByLabel(label))!.version, 'an event that changes nothing on the sample keeps its version').to.equal(stored.version)
      const distributed = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'distributed', occurredDate: '15-03-2025', occurredTime: '11:00', note: 'Projekt RP-2025-001', version: String(stored.version) })
      expect(distributed.ok).to.equal(true)
      stored = (await sampleByLabel(label))!
      expect(stored.availability).to.equal('distributed')
      const destroyAfter = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'destroyed', occurredDate: '16-03-2025', occurredTime: '11:00', version: String(stored.version) })
      expect(codes((destroyAfter as { errors: FieldError[] }).errors)).to.deep.equal(['eventType:eventType.notInStock'])
      const events = await db().models.SampleEvent.findAll({ where: { sampleId: sample.id }, order: [['id', 'ASC']] })
      expect(events.map((e) => e.eventType)).to.deep.equal(['collected', 'moved', 'thawed', 'distributed'])
      expect(events[1]!.details).to.deep.equal({ from, to, note: 'Fryser 1 defekt' })
      expect(events[1]!.occurredAt.toISOString()).to.equal('2025-03-14T08:15:00.000Z')
      expect(events[3]!.details).to.deep.include({ availabilityFrom: 'available' })
      const audits = await auditOf('sample.event', sample.id)
      expect(audits.map((a) => a.details.eventType)).to.deep.equal(['moved', 'thawed', 'distributed'])
      expect(audits.every((a) => Number(a.subjectDonorId) === Number(sample.donorId))).to.equal(true)
    })

    it('refuses events in the future, before collection, moves without a place, and notes holding a CPR number', async () => {
      const { publicId, label } = await register('stine', { storageLocation: freePlace() })
      const version = String((await sampleByLabel(label))!.version)
      const future = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'thawed', occurredDate: '01-01-2999', occurredTime: '10:00', version })
      expect(codes((future as { errors: FieldError[] }).errors)).to.deep.equal(['occurredDate:occurredDate.future'])
      const early = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'thawed', occurredDate: '01-01-2020', occurredTime: '10:00', version })
      expect(codes((early as { errors: FieldError[] }).errors)).to.deep.equal(['occurredDate:occurredDate.beforeCollected'])
      const nowhere = await app.services.samples.recordEvent(users.stine!, publicId, { eventType: 'moved', occurredDate: '14-03-2025', occurredTime: '25:00', newLocation: '', note: `CPR ${ANNE_CPR}`, version })
      expect(codes((nowhere as { errors: FieldError[] }).errors)).to.deep.equal(['newLocation:newLocation.required', 'note:note.looksLikeCpr', 'occurredTime:occurredTime.format'])
    })

    it('derives: a derivative of another material and an aliquot of the same, always of the parent’s donor', async () => {
      const { publicId, label } = await register('stine', { donorCpr: OTHER_NEW_CPR })
      const parent = (await sampleByLabel(label))!
      const child = { label: `${label}-DNA`, materialType: 'dna', storageTemperature: '-18to-35', quantity: '30', quantityUnit: 'ug', availability: 'available', donorCpr: ANNE_CPR }
      const sameMaterial = await app.services.samples.deriveSample(users.stine!, publicId, { ...child, lineage: 'derivative', materialType: 'whole-blood' })
      expect(codes((sameMaterial as { errors: FieldError[] }).errors)).to.deep.equal(['materialType:materialType.derivativeOther'])
      const otherMaterial = await app.services.samples.deriveSample(users.stine!, publicId, { ...child, lineage: 'aliquot' })
      expect(codes((otherMaterial as { errors: FieldError[] }).errors)).to.deep.equal(['materialType:materialType.aliquotSame'])
      const derived = await app.services.samples.deriveSample(users.stine!, publicId, { ...child, lineage: 'derivative' })
      expect(derived.ok).to.equal(true)
      const dna = (await sampleByLabel(child.label))!
      expect([dna.lineage, Number(dna.parentId), Number(dna.donorId), dna.biobankId]).to.deep.equal(['derivative', Number(parent.id), Number(parent.donorId), parent.biobankId])
      expect(dna.collectedAt.getTime()).to.equal(parent.collectedAt.getTime())
      const aliquot = await app.services.samples.deriveSample(users.stine!, publicId, { ...child, label: `${label}-01`, lineage: 'aliquot', materialType: 'whole-blood' })
      expect(aliquot.ok).to.equal(true)
      const audits = await auditOf('sample.derive', dna.id)
      expect(audits).to.have.length(1)
      expect(Number(audits[0]!.subjectDonorId)).to.equal(Number(parent.donorId))
      expect(audits[0]!.details).to.deep.include({ lineage: 'derivative', parentSampleId: Number(parent.id) })
      const events = await db().models.SampleEvent.findAll({ where: { sampleId: dna.id } })
      expect(events.map((e) => [e.eventType, e.details.source])).to.deep.equal([['processed', label]])
      // The tree from the DNA: the parent at the top, the DNA under it; from the parent: both children.
      const tree = await app.services.samples.getSample(users.stine!, publicId)
      expect(tree.lineage.children.map((c) => c.label).sort()).to.deep.equal([`${label}-01`, `${label}-DNA`].sort())
    })
  })

  /** The edit form values of a stored sample (as the edit page would post them back). */
  function formFor(sample: { materialType: string; storageTemperature: string; collectedAt: Date; quantity: string | null; quantityUnit: string | null; storageLocation: string | null; sprec: string | null; diagnosis: string | null; availability: string; version: number }) {
    const at = new Intl.DateTimeFormat('da-DK', { timeZone: 'Europe/Copenhagen', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(sample.collectedAt)
    const part = (type: string) => at.find((p) => p.type === type)!.value
    return {
      materialType: sample.materialType,
      storageTemperature: sample.storageTemperature,
      collectedDate: `${part('day')}-${part('month')}-${part('year')}`,
      collectedTime: `${part('hour')}:${part('minute')}`,
      quantity: sample.quantity ?? '',
      quantityUnit: sample.quantityUnit ?? '',
      storageLocation: sample.storageLocation ?? '',
      sprec: sample.sprec ?? '',
      diagnosis: sample.diagnosis ?? '',
      availability: sample.availability,
      version: String(sample.version),
    }
  }

  describe('the pages', () => {
    const agents: Record<string, Agent> = {}
    before(async () => {
      for (const userId of ['stine', 'henrik', 'revisor']) {
        agents[userId] = newAgent()
        await login(agents[userId]!, app.baseUrl, 'staff', userId)
      }
    })

    const page = (userId: string, path: string) => get(agents[userId]!, `${app.baseUrl}${path}`)
    async function post(userId: string, path: string, form: Record<string, string>, csrfFrom = '/medarbejder') {
      const token = csrfTokenOf((await page(userId, csrfFrom)).text)
      return agents[userId]!.post(`${app.baseUrl}${path}`).type('form').send({ _csrf: token, ...form }).redirects(0).ok(() => true)
    }

    it('shows the registration form in Danish with the vocabularies as selects, and in English with ?lang=en', async () => {
      const da = await page('stine', '/medarbejder/proever/ny')
      expect(da.status).to.equal(200)
      expect(da.text).to.contain('<h1>Registrér en ny prøve</h1>')
      expect(da.text).to.contain('Region Hovedstadens Biobank')
      for (const name of ['label', 'donorCpr', 'collectedDate', 'collectedTime', 'quantity', 'storageLocation', 'sprec', 'diagnosis']) {
        expect(da.text, name).to.match(new RegExp(`<label class="form-label" for="${name}">[^<]+</label>`))
        expect(da.text, name).to.match(new RegExp(`<input [^>]*id="${name}" name="${name}"`))
      }
      expect(da.text).to.match(/<select [^>]*id="materialType" name="materialType"/)
      expect(da.text).to.contain('<option value="whole-blood">Fuldblod</option>')
      expect(da.text).to.contain('<option value="-60to-85">−60 °C til −85 °C</option>')
      expect(da.text).to.contain('<option value="available" selected>Tilgængelig</option>')
      expect(da.text).to.contain('<option value="uL">µL</option>')
      expect(da.text).to.match(/<input type="hidden" name="_csrf" value="[^"]+">/)
      const en = await page('stine', '/medarbejder/proever/ny?lang=en')
      expect(en.text).to.contain('<option value="whole-blood">Whole blood</option>')
      expect(en.text).to.contain('<h1>Register a new sample</h1>')
      await page('stine', '/medarbejder?lang=da')
    })

    it('shows every error next to its field and in a summary at the top, keeps the input, and writes nothing', async () => {
      const before = await count('samples')
      const form = validForm({ label: 'bad label', donorCpr: '310285-1234', collectedDate: '31-02-2025', sprec: 'SER-SST', diagnosis: 'xyz', quantity: '1,5', quantityUnit: '' })
      const res = await post('stine', '/medarbejder/proever/ny', form)
      expect(res.status).to.equal(422)
      expect(await count('samples')).to.equal(before)
      expect(res.text).to.match(/<title>Fejl: Registrér prøve – Biobankregisteret<\/title>/)
      const summary = /<div class="alert alert-error[^"]*" role="alert"[\s\S]*?<\/div>\s*<\/div>/.exec(res.text)?.[0] ?? ''
      const expected: Record<string, string> = {
        label: 'Prøvens ID må kun indeholde',
        donorCpr: 'De første 6 cifre i CPR-nummeret er ikke en gyldig dato.',
        collectedDate: 'Udtagningsdatoen findes ikke.',
        sprec: 'SPREC-koden skal have 7 dele',
        diagnosis: 'Diagnosekoden skal være en ICD-10-kode',
        quantityUnit: 'Vælg en enhed for mængden.',
      }
      for (const [field, text] of Object.entries(expected)) {
        expect(summary, `summary links to ${field}`).to.match(new RegExp(`<a href="#${field}">${text}`))
        expect(res.text, `${field} error next to the field`).to.match(new RegExp(`<span class="form-error-message" id="${field}-error"><span class="sr-only">Fejl: </span>${text}`))
        expect(res.text, `${field} described by its error`).to.match(new RegExp(`id="${field}" name="${field}"[^>]*aria-describedby="[^"]*${field}-error"[^>]*aria-invalid="true"`))
      }
      // What the user typed is still there, the CPR included (in its own field only).
      expect(res.text).to.contain('value="bad label"')
      expect(res.text).to.contain('value="310285-1234"')
      expect(res.text.split('310285-1234')).to.have.length(2)
      expect(res.text).to.contain('<option value="whole-blood" selected>Fuldblod</option>')
      expect(res.text).to.contain('value="1,5"')
    })

    it('registers a sample and shows it with the CPR masked, never in full, in the page or the log', async () => {
      const form = validForm({ donorCpr: NEW_CPR, storageLocation: freePlace(), diagnosis: 'DC509' })
      const res = await post('stine', '/medarbejder/proever/ny', form)
      expect(res.status).to.equal(303)
      expect(res.headers.location).to.match(/^\/medarbejder\/proever\/[0-9a-f-]{36}\?besked=oprettet$/)
      expect(res.headers.location).not.to.contain(NEW_CPR.slice(0, 6))
      const show = await page('stine', res.headers.location!)
      expect(show.status).to.equal(200)
      expect(show.text).to.contain(`<title>Prøve ${form.label} – Biobankregisteret</title>`)
      expect(show.text).to.contain('Prøven er registreret.')
      expect(show.text).to.contain(`${NEW_CPR.slice(0, 6)}-****`)
      expect(show.text).not.to.contain(NEW_CPR.slice(6))
      expect(show.text).to.contain('C50.9')
      expect(show.text).to.contain('Fuldblod')
      expect(show.text).to.contain('Tilgængelig')
      expect(show.text).to.contain('Udtaget')
      expect(show.text).to.contain('Stine Sørensen')
      const sample = (await sampleByLabel(form.label!))!
      expect((await auditOf('sample.view', sample.id)).length).to.be.greaterThan(0)
      const logged = capturedLogLines.join('\n')
      expect(logged).not.to.contain(NEW_CPR)
      expect(logged).not.to.contain(`${NEW_CPR.slice(0, 6)}-${NEW_CPR.slice(6)}`)
    })

    it('shows the lineage with links, the events with who and when, and the current availability', async () => {
      const publicId = await publicIdOf('RH-2024-000123-02')
      const res = await page('henrik', `/medarbejder/proever/${publicId}`)
      expect(res.status).to.equal(200)
      expect(res.text).to.match(new RegExp(`<a href="/medarbejder/proever/${await publicIdOf('RH-2024-000123')}">RH-2024-000123</a>`))
      expect(res.text).to.match(/<strong aria-current="page">RH-2024-000123-02<\/strong>/)
      expect(res.text).to.contain('<strong class="sample-availability">Reserveret</strong>')
      expect(res.text).to.contain('Tilgængelighed ændret')
      expect(res.text).to.contain('<li>Til: Reserveret</li>')
      expect(res.text).to.match(/<th scope="col">Registreret af<\/th>/)
      expect(res.text).to.contain(`href="/medarbejder/proever/${publicId}/rediger"`)
      expect(res.text).to.contain('href="/medarbejder/soeg"')
    })

    it('answers 404 for ids of other biobanks, unknown ids and non-uuids', async () => {
      const rm = await publicIdOf('RM-2019-000871')
      expect((await page('stine', `/medarbejder/proever/${rm}`)).status).to.equal(404)
      expect((await page('stine', `/medarbejder/proever/${rm}/rediger`)).status).to.equal(404)
      expect((await page('stine', '/medarbejder/proever/00000000-0000-4000-8000-000000000000')).status).to.equal(404)
      expect((await page('stine', '/medarbejder/proever/RH-2024-000123')).status).to.equal(404)
      const auditor = await page('revisor', `/medarbejder/proever/${rm}`)
      expect(auditor.status).to.equal(200)
      expect(auditor.text).not.to.contain('/rediger"')
      expect(auditor.text).not.to.contain('name="eventType"')
    })

    it('refuses crafted POSTs: a registrar of RH registering or editing in RM, and the auditor everywhere (403)', async () => {
      const before = await Promise.all(['samples', 'sample_events'].map(count))
      const toRm = await post('stine', '/medarbejder/proever/ny', validForm({ biobank: 'RM' }))
      expect(toRm.status).to.equal(403)
      const rm = (await sampleByLabel('RM-2019-000871'))!
      const edit = await post('stine', `/medarbejder/proever/${rm.publicId}/rediger`, formFor({ ...rm.get(), availability: 'destroyed' }))
      expect(edit.status).to.equal(404)
      const rh = (await sampleByLabel('RH-2024-000123'))!
      for (const [path, form] of [
        ['/medarbejder/proever/ny', validForm()],
        [`/medarbejder/proever/${rh.publicId}/rediger`, formFor({ ...rh.get(), availability: 'destroyed' })],
        [`/medarbejder/proever/${rh.publicId}/haendelser`, { eventType: 'thawed', occurredDate: '01-01-2025', occurredTime: '10:00', version: String(rh.version) }],
        [`/medarbejder/proever/${rh.publicId}/afledt`, { lineage: 'aliquot', label: 'RV-1', materialType: 'whole-blood', storageTemperature: 'rt', availability: 'available' }],
        [`/medarbejder/proever/${rm.publicId}/haendelser`, { eventType: 'destroyed', occurredDate: '01-01-2025', occurredTime: '10:00', version: String(rm.version) }],
      ] as const) {
        expect((await post('revisor', path, form)).status, path).to.equal(403)
      }
      expect((await page('revisor', '/medarbejder/proever/ny')).status).to.equal(403)
      expect((await page('revisor', `/medarbejder/proever/${rh.publicId}/rediger`)).status).to.equal(403)
      expect(await Promise.all(['samples', 'sample_events'].map(count))).to.deep.equal(before)
      expect((await sampleByLabel('RM-2019-000871'))!.availability).to.equal(rm.availability)
    })

    it('refuses a POST without the CSRF token', async () => {
      const res = await agents.stine!.post(`${app.baseUrl}/medarbejder/proever/ny`).type('form').send(validForm()).redirects(0).ok(() => true)
      expect(res.status).to.equal(403)
    })

    it('edits through the form and tells the second editor, in Danish, that someone else changed the sample meanwhile', async () => {
      const { publicId, label } = await register('stine')
      const editPath = `/medarbejder/proever/${publicId}/rediger`
      const formPage = await page('stine', editPath)
      expect(formPage.status).to.equal(200)
      const version = /name="version" value="(\d+)"/.exec(formPage.text)![1]!
      expect(formPage.text).to.contain('value="12-03-2025"')
      expect(formPage.text).to.contain('value="08:40"')
      const sample = (await sampleByLabel(label))!
      const form = { ...formFor(sample), version }
      const saved = await post('henrik', editPath, { ...form, storageLocation: freePlace() }, editPath)
      expect(saved.status).to.equal(303)
      expect(saved.headers.location).to.equal(`/medarbejder/proever/${publicId}?besked=gemt`)
      const stale = await post('stine', editPath, { ...form, sprec: 'SER-SST-A-D-N-A-D' }, editPath)
      expect(stale.status).to.equal(409)
      expect(stale.text).to.contain('Prøven er blevet ændret af en anden, mens du redigerede')
      expect(stale.text).to.contain('Senest ændret')
      expect(stale.text).to.contain('Henrik Holm')
      expect(stale.text).to.contain('Prøvens aktuelle værdier')
      // Her input is kept, now on the current version: saving again is a deliberate choice.
      expect(stale.text).to.contain('value="SER-SST-A-D-N-A-D"')
      expect(stale.text).to.contain(`name="version" value="${Number(version) + 1}"`)
      expect((await sampleByLabel(label))!.sprec).to.equal(null)
    })

    it('shows edit errors next to the fields, in English with the English texts', async () => {
      const { publicId, label } = await register('stine')
      const sample = (await sampleByLabel(label))!
      const editPath = `/medarbejder/proever/${publicId}/rediger`
      await page('stine', `${editPath}?lang=en`)
      const res = await post('stine', editPath, { ...formFor(sample), quantity: 'lots' }, editPath)
      expect(res.status).to.equal(422)
      expect(res.text).to.contain('<a href="#quantity">Write the quantity as a positive number')
      expect(res.text).to.contain('<span class="sr-only">Error: </span>Write the quantity')
      await page('stine', '/medarbejder?lang=da')
    })

    it('records an event from the sample page, and shows its errors there with the input kept', async () => {
      const { publicId, label } = await register('stine', { storageLocation: freePlace() })
      const path = `/medarbejder/proever/${publicId}`
      const show = await page('stine', path)
      const version = /name="version" value="(\d+)"/.exec(show.text)![1]!
      const bad = await post('stine', `${path}/haendelser`, { eventType: 'moved', occurredDate: '14-03-2025', occurredTime: '09:15', newLocation: 'nowhere', note: 'Flyttet pga. service', version }, path)
      expect(bad.status).to.equal(422)
      expect(bad.text).to.contain('<a href="#newLocation">Skriv den nye placering som FRYSER/REOL/KASSE/POSITION')
      expect(bad.text).to.contain('Flyttet pga. service</textarea>')
      expect(bad.text).to.contain('<option value="moved" selected>Flyttet</option>')
      const target = freePlace()
      const good = await post('stine', `${path}/haendelser`, { eventType: 'moved', occurredDate: '14-03-2025', occurredTime: '09:15', newLocation: target, version }, path)
      expect(good.status).to.equal(303)
      const after = await page('stine', good.headers.location!)
      expect(after.text).to.contain('Hændelsen er registreret.')
      expect(after.text).to.contain(`Til: ${target}`)
      expect((await sampleByLabel(label))!.storageLocation).to.equal(target)
    })

    it('derives a DNA sample from whole blood through the form', async () => {
      const { publicId, label } = await register('stine')
      const path = `/medarbejder/proever/${publicId}/afledt`
      const formPage = await page('stine', path)
      expect(formPage.status).to.equal(200)
      expect(formPage.text).to.match(/<input type="radio" id="lineage-derivative" name="lineage" value="derivative"/)
      const missing = await post('stine', path, { label: `${label}-D`, materialType: 'dna', storageTemperature: '-18to-35', availability: 'available' }, path)
      expect(missing.status).to.equal(422)
      expect(missing.text).to.contain('<a href="#lineage-aliquot">Vælg, om det er en alikvot eller et derivat.</a>')
      const res = await post('stine', path, { lineage: 'derivative', label: `${label}-D`, materialType: 'dna', storageTemperature: '-18to-35', availability: 'available' }, path)
      expect(res.status).to.equal(303)
      const child = await page('stine', res.headers.location!)
      expect(child.text).to.contain('Derivat')
      expect(child.text).to.contain(`<a href="/medarbejder/proever/${publicId}">${label}</a>`)
    })
  })
})
