// The citizen's download as a FHIR R4 Bundle: a Specimen per sample and a Consent for the research opt-out
// (DOMAIN.md, "Interchange"), built by the shared mapping in server/domain/fhir.ts.
import { bundle, consentResource, specimenResource, type FhirResource } from '../domain/fhir.ts'
import type { CitizenService } from './citizenService.ts'

type Everything = Awaited<ReturnType<CitizenService['everything']>>

export function citizenBundle(data: Everything) {
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
    }),
  )
  const consent = consentResource({
    // Stable per person and state, without revealing anything: the latest receipt, or "none".
    id: `optout-${(data.choiceHistory.at(-1)?.receiptReference as string | undefined) ?? 'none'}`.toLowerCase(),
    material: data.choices.material,
    genetic: data.choices.genetic,
    updatedAt: data.choices.updatedAt ?? new Date(),
  })
  return bundle('collection', [...specimens, consent])
}
