// May a sample be used in research, given its donor's VAR choices (Sundhedsloven § 29)? One rule for the
// citizen's own view and for the eligibility check, so the two can never disagree.
import type { Availability } from './vocabulary.ts'

export interface OptOutState {
  material: boolean
  genetic: boolean
}

/** What the citizen's choices allow for one sample. */
export type ResearchUse =
  /** The sample is gone or handed out: it cannot be used by anyone. */
  | 'unavailable'
  /** Opt-out of biological material: no research at all. */
  | 'none'
  /** Opt-out of genetic data only: research, but not on genetic data. */
  | 'notGenetic'
  /** No opt-out: approved research may use it. */
  | 'allowed'

const GONE: readonly Availability[] = ['distributed', 'depleted', 'destroyed']

export function researchUse(choices: OptOutState, availability: Availability): ResearchUse {
  if (GONE.includes(availability)) return 'unavailable'
  if (choices.material) return 'none'
  if (choices.genetic) return 'notGenetic'
  return 'allowed'
}

/** What a research project asks to use. */
export type ResearchPurpose = 'material' | 'genetic' | 'both'

/** Why a donor's choices exclude a sample from a project, or null when they do not. */
export function optOutExclusion(choices: OptOutState, purpose: ResearchPurpose): 'material' | 'genetic' | null {
  // A material opt-out excludes the sample from all research; a genetic one whenever genetic data is asked for.
  if (choices.material) return 'material'
  if (choices.genetic && purpose !== 'material') return 'genetic'
  return null
}
