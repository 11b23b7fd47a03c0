// The citizen's download as a FHIR R4 Bundle: a Specimen per sample and a Consent for the research opt-out
// (DOMAIN.md, "Interchange"), built by the shared mapping in server/domain/fhir.ts.
import { bundle, consentResource, specimenResource, type FhirResource } from '../domain/fhir.ts'
import type { CitizenService } from './citizenService.ts'

type Everything = Awaited<ReturnType<CitizenService['everything']>>

/** The CPR number's identifier system (the Danish CPR register's OID). */
const CPR_SYSTEM = 'urn:oid:1.2.208.176.1.2'

export function citizenBundle(data: Everything) {
  // The person themselves, so every Specimen's subject and the Consent's patient resolve inside the Bundle.
  const patient: FhirResource = {
    resourceType: 'Patient',
    id: 'person',
    ...(data.person.cpr ? { identifier: [{ system: CPR_SYSTEM, value: data.person.cpr }] } : {}),
    ...(data.person.birthDate ? { birthDate: data.person.birthDate } : {}),
  }
  const patientReference = 'Patient/person'
  const specimens: FhirResource[] = data.samples.map((s) =>
    specimenResource({
      publicId: s.publicId,
      label: s.label,
      biobankCode: s.biobank.code,
      materialType: s.materialType,
      collectedAt: new Date(s.collectedAt),
      storageTemperature: s.storageTemperature,
      parentPublicId: s.parentPublicId,
      quantity: s.quantity,
      quantityUnit: s.quantityUnit,
      availability: s.availability,
      subject: { reference: patientReference },
    }),
  )
  const consent = consentResource({
    // Stable per person and state, without revealing anything: the latest receipt, or "none".
    id: `optout-${(data.choiceHistory.at(-1)?.receiptReference as string | undefined) ?? 'none'}`.toLowerCase(),
    material: data.choices.material,
    genetic: data.choices.genetic,
    updatedAt: data.choices.updatedAt ?? new Date(),
    patientReference,
  })
  return bundle('collection', [patient, ...specimens, consent])
}
