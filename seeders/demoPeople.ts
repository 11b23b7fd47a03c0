// Demo identities shared by the seeders and the development OpenID provider.
// The CPR numbers are fictitious; they are listed in the README and never logged.

export type StaffRole = 'registrar' | 'biobank_admin' | 'auditor'

export interface DemoCitizen {
  kind: 'citizen'
  /** What the demo user types into "Bruger-ID" on the development login page. */
  userId: string
  name: string
  cpr: string
  /** NSIS level of assurance the development provider asserts. */
  loa: 'Low' | 'Substantial' | 'High'
  mitidUuid: string
}

export interface DemoStaff {
  kind: 'staff'
  userId: string
  name: string
  role: StaffRole
  /** Biobank code (RH, RSJ, RSD, RM, RN); the auditor belongs to none. */
  biobank: string | null
}

export const demoCitizens: readonly DemoCitizen[] = [
  { kind: 'citizen', userId: 'anne', name: 'Anne Andersen', cpr: '1503724518', loa: 'Substantial', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000001' },
  { kind: 'citizen', userId: 'bo', name: 'Bo Bertelsen', cpr: '0202851237', loa: 'Substantial', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000002' },
  { kind: 'citizen', userId: 'carl', name: 'Carl Christensen', cpr: '1010602349', loa: 'High', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000003' },
  { kind: 'citizen', userId: 'dorte', name: 'Dorte Damgaard', cpr: '2404882460', loa: 'Substantial', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000004' },
  { kind: 'citizen', userId: 'emil', name: 'Emil Damgaard', cpr: '0506174993', loa: 'Substantial', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000005' },
  { kind: 'citizen', userId: 'frida', name: 'Frida Damgaard', cpr: '0103114122', loa: 'Substantial', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000006' },
  { kind: 'citizen', userId: 'lav', name: 'Lars A. Vestergaard', cpr: '1111901115', loa: 'Low', mitidUuid: '7c1a8f0e-1b2d-4e52-9a11-0a6e1f000007' },
]

export const demoStaff: readonly DemoStaff[] = [
  { kind: 'staff', userId: 'stine', name: 'Stine Sørensen', role: 'registrar', biobank: 'RH' },
  { kind: 'staff', userId: 'henrik', name: 'Henrik Holm', role: 'biobank_admin', biobank: 'RH' },
  { kind: 'staff', userId: 'mette', name: 'Mette Madsen', role: 'biobank_admin', biobank: 'RM' },
  { kind: 'staff', userId: 'revisor', name: 'Rikke Revisor', role: 'auditor', biobank: null },
]

/** Custody as the CPR register would supply it: dorte has custody of emil (9) and of frida (15). */
export const demoCustody: readonly { parent: string; child: string }[] = [
  { parent: 'dorte', child: 'emil' },
  { parent: 'dorte', child: 'frida' },
]

export function demoCitizen(userId: string): DemoCitizen {
  const found = demoCitizens.find((c) => c.userId === userId)
  if (!found) throw new Error(`No demo citizen ${userId}`)
  return found
}
