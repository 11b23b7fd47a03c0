/**
 * Finds text shaped like a CPR number (ddmmyy-nnnn, with or without the dash, also a percent-encoded dash).
 *
 * The app's random ids are blanked first, because some of them hold ten digits in a CPR shape by chance, which
 * made leak checks fail at random:
 * - UUIDs (sample ids in pages and URLs): `…a0112345-6789…` across a dash;
 * - import job ids (16 random bytes as 32 hex digits): `/medarbejder/import/96ef0aaacf0713976430e06f69c84f6e`.
 * A real leak is never inside one of these whole tokens.
 */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
const HEX_ID = /(?<![0-9a-z])[0-9a-f]{32}(?![0-9a-z])/gi
const CPR_SHAPE = /(?<!\d)[0-3]\d[01]\d{3}(?:-|%2D)?\d{4}(?!\d)/i

export function cprShapedText(text: string): string | undefined {
  return CPR_SHAPE.exec(text.replace(UUID, '<uuid>').replace(HEX_ID, '<id>'))?.[0]
}
