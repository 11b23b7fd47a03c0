// The OpenAPI 3 description of the integration API, served at GET /api/v1/openapi.json. Written by hand: the API
// is small, and the description is the contract an integration is built against.
import { DUO_CODES, MAX_LABEL_LENGTH, MAX_LABELS } from '../../server/services/eligibilityService.ts'

export const API_MAX_BODY_BYTES = 96 * 1024 * 1024

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

export function openApiDocument(baseUrl: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Biobankregisteret – integration API',
      version: '1.0.0',
      description:
        'Which samples of a biobank may be released to a research project, with the research opt-out register ' +
        '(Vævsanvendelsesregisteret, Sundhedsloven § 29) honoured. Every check is stored with its proof: the register ' +
        'version and database snapshot it was decided on, a SHA-256 of the labels asked about, and the outcome per ' +
        'label. Excluded samples are counted by reason and never named. ' +
        `A biobank admin issues keys at /medarbejder/forskning/api-noegler; a key acts for one biobank. Projects: ${DUO_CODES.length} GA4GH DUO codes are supported (${DUO_CODES.join(', ')}).`,
    },
    servers: [{ url: `${baseUrl}/api/v1` }],
    security: [{ apiKey: [] }],
    paths: {
      '/eligibility': {
        post: {
          operationId: 'checkEligibility',
          summary: 'Check which samples may be released to a research project',
          description:
            `Up to ${MAX_LABELS.toLocaleString('en')} labels in one request; the body is read as it arrives and the answer is streamed. ` +
            'A label that is not a sample of the key\'s biobank counts as unknown. A label asked about twice is decided once. ' +
            'requestedSha256 is the SHA-256 of the labels in the order sent, each followed by a line feed (printf \'%s\\n\' LABELS | sha256sum).',
          parameters: [
            {
              name: 'project',
              in: 'query',
              required: false,
              description: 'The project id or reference; required with text/plain and application/x-ndjson bodies (a JSON body names it in the body).',
              schema: { type: 'string', maxLength: 100 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/EligibilityRequest' } },
              'application/x-ndjson': { schema: { type: 'string', description: 'One JSON string (a label) per line.' } },
              'text/plain': { schema: { type: 'string', description: 'One label per line.' } },
            },
          },
          responses: {
            '201': {
              description: 'The check, stored. The Location header names it.',
              headers: { Location: { description: 'GET this to read the stored answer again.', schema: { type: 'string' } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/EligibilityAnswer' } } },
            },
            '400': errorResponse('The body is not a valid request; details say where (a JSON path) and why.'),
            '401': errorResponse('No key, or a key that is unknown or revoked.'),
            '404': errorResponse('No such project in the key\'s biobank.'),
            '413': errorResponse(`More than ${MAX_LABELS.toLocaleString('en')} labels, or a body over ${API_MAX_BODY_BYTES / 1024 / 1024} MiB.`),
            '415': errorResponse('A content type other than application/json, application/x-ndjson or text/plain.'),
            '429': errorResponse('Too many requests; see the RateLimit headers.'),
            '503': errorResponse('Too many large checks at once; retry after the Retry-After header\'s seconds.'),
          },
        },
      },
      '/eligibility/{checkId}': {
        get: {
          operationId: 'getEligibilityCheck',
          summary: 'Read a stored check again (the same answer, never recomputed)',
          parameters: [{ name: 'checkId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': { description: 'The stored answer.', content: { 'application/json': { schema: { $ref: '#/components/schemas/EligibilityAnswer' } } } },
            '401': errorResponse('No key, or a key that is unknown or revoked.'),
            '404': errorResponse('No such check for the key\'s biobank.'),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This description',
          security: [],
          responses: { '200': { description: 'The OpenAPI document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer bbr_… (a key issued by a biobank admin).' },
      },
      schemas: {
        EligibilityRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['project', 'labels'],
          properties: {
            project: {
              oneOf: [
                { type: 'integer', minimum: 1, description: 'The project id.' },
                { type: 'string', minLength: 1, maxLength: 100, description: 'The project reference (or id).' },
              ],
            },
            labels: {
              type: 'array',
              maxItems: MAX_LABELS,
              items: { type: 'string', minLength: 1, maxLength: MAX_LABEL_LENGTH, description: 'A sample label; no control characters.' },
            },
          },
        },
        EligibilityAnswer: {
          type: 'object',
          required: ['checkId', 'projectId', 'registerVersion', 'createdAt', 'requested', 'duplicates', 'eligibleCount', 'excluded', 'eligible', 'requestedSha256'],
          properties: {
            checkId: { type: 'string', format: 'uuid' },
            projectId: { type: 'integer' },
            registerVersion: { type: 'integer', description: 'The highest opt-out register event the check could see.' },
            snapshot: { type: 'string', description: 'The database snapshot the check was decided in (pg_current_snapshot()).' },
            createdAt: { type: 'string', format: 'date-time' },
            purpose: { type: 'string', enum: ['material', 'genetic', 'both'] },
            requested: { type: 'integer', description: 'Labels received, duplicates included.' },
            duplicates: { type: 'integer' },
            requestedSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            eligibleCount: { type: 'integer' },
            excluded: {
              type: 'object',
              required: ['material', 'genetic', 'notAvailable', 'unknown'],
              properties: {
                material: { type: 'integer', description: 'The donor has opted out of research on biological material.' },
                genetic: { type: 'integer', description: 'The donor has opted out of research on genetic data, and the project asks for genetic data.' },
                notAvailable: { type: 'integer', description: 'Distributed, depleted or destroyed.' },
                unknown: { type: 'integer', description: 'Not a sample of this biobank.' },
              },
            },
            eligible: { type: 'array', items: { type: 'string' }, description: 'The eligible labels, in the order asked.' },
          },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'string' },
            details: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: { path: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  }
}
