// The service-layer rules: staff act only within their own biobank, the auditor reads all and changes nothing,
// and citizens are never staff.
import { expect } from 'chai'
import { assertCitizenIs, assertStaffMay, ForbiddenError, staffMay, type StaffAction } from '../../server/services/authorization.ts'
import type { CitizenSessionUser, StaffSessionUser } from '../../server/services/authService.ts'

const RH = 1
const RM = 4
const staff = (role: StaffSessionUser['role'], biobankId: number | null): StaffSessionUser => ({
  kind: 'staff',
  staffUserId: 1,
  name: role,
  role,
  biobankId,
  biobankCode: biobankId === RH ? 'RH' : biobankId === RM ? 'RM' : null,
})
const stine = staff('registrar', RH)
const henrik = staff('biobank_admin', RH)
const revisor = staff('auditor', null)
const anne: CitizenSessionUser = { kind: 'citizen', donorId: 7, name: 'Anne', loa: 'Substantial' }

const actions: StaffAction[] = ['read', 'register', 'release', 'export', 'audit', 'paper_optout']
const allowed = (user: StaffSessionUser, biobank: number) => actions.filter((a) => staffMay(user, a, biobank))

describe('authorisation in the service layer', () => {
  it('lets a registrar read and register in her own biobank only', () => {
    expect(allowed(stine, RH)).to.deep.equal(['read', 'register'])
    expect(allowed(stine, RM)).to.deep.equal([])
  })

  it('lets a biobank admin also release and export, in his own biobank only', () => {
    expect(allowed(henrik, RH)).to.deep.equal(['read', 'register', 'release', 'export', 'paper_optout'])
    expect(allowed(henrik, RM)).to.deep.equal([])
  })

  it('lets the auditor read every biobank and change nothing', () => {
    for (const biobank of [RH, RM]) expect(allowed(revisor, biobank)).to.deep.equal(['read', 'audit'])
  })

  it('refuses with ForbiddenError (403), and never lets a citizen act as staff', () => {
    expect(() => assertStaffMay(stine, 'register', RM)).to.throw(ForbiddenError)
    expect(() => assertStaffMay(revisor, 'register', RH)).to.throw(ForbiddenError)
    expect(() => assertStaffMay(anne, 'read', RH)).to.throw(ForbiddenError)
    expect(() => assertStaffMay(undefined, 'read', RH)).to.throw(ForbiddenError)
    expect(assertStaffMay(henrik, 'export', RH)).to.equal(henrik)
    expect(() => assertStaffMay(stine, 'export', RH))
      .to.throw(ForbiddenError)
      .with.property('status', 403)
  })

  it('lets a citizen reach only her own data, and staff none of it as a citizen', () => {
    expect(() => assertCitizenIs(anne, 7)).not.to.throw()
    expect(() => assertCitizenIs(anne, 8)).to.throw(ForbiddenError)
    expect(() => assertCitizenIs(henrik, 7)).to.throw(ForbiddenError)
  })
})
