// The OpenAPI 3 description of the integration API, served at GET /api/v1/openapi.json. Written by hand: the API
// is small, and the description is the contract an integration is built against.
import { DUO_CODES, MAX_LABEL_LENGTH, MAX_LABELS, RESEARCH_PURPOSES } from '../../server/services/eligibilityService.ts'

export const API_MAX_BODY_BYTES = 96 * 1024 * 1024

/** An error answer: `{ error, details? }`, with any headers the answer always carries. */
const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

// Answers every API operation behind a key can give, whatever the operation.
const unauthorized = () => errorResponse('No key, a malformed key, or a key that is unknown or revoked.', { 'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' } })
const tooManyRequests = () =>
  errorResponse('Too many requests from this address or with this key; retry after the Retry-After header\'s seconds.', {
    'Retry-After': { $ref: '#/components/headers/Retry-After' },
    RateLimit: { $ref: '#/components/headers/RateLimit' },
    'RateLimit-Policy': { $ref: '#/components/headers/RateLimit-Policy' },
  })
const internalError = () => errorResponse('Something went wrong on our side; the request may be retried.')

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
              description: 'The check, stored. The Location header names it. The answer is streamed (chunked) as it is read from the database.',
              headers: {
                Location: {
                  description: 'GET this (a path on this server) to read the stored answer again.',
                  required: true,
                  schema: { type: 'string', pattern: '/eligibility/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
                },
              },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/EligibilityAnswer' } } },
            },
            '400': errorResponse(
              'The request is not valid; details say where (a path into the JSON body, or ["query", "project"]) and why. ' +
                'A body that is not JSON at all, or not JSON of the right shape, may come without details.',
            ),
            '401': unauthorized(),
            '404': errorResponse('No such project in the key\'s biobank.'),
            '413': errorResponse(`More than ${MAX_LABELS.toLocaleString('en')} labels, or a body over ${API_MAX_BODY_BYTES / 1024 / 1024} MiB.`),
            '415': errorResponse('A content type other than application/json, application/x-ndjson or text/plain, or a charset other than UTF-8.'),
            '429': tooManyRequests(),
            '500': internalError(),
            '503': errorResponse('Two large checks are already running; retry after the Retry-After header\'s seconds.', { 'Retry-After': { $ref: '#/components/headers/Retry-After' } }),
          },
        },
      },
      '/eligibility/{checkId}': {
        get: {
          operationId: 'getEligibilityCheck',
          summary: 'Read a stored check again (the same answer, never recomputed)',
          parameters: [{ name: 'checkId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: {
            '200': { description: 'The stored answer, streamed.', content: { 'application/json': { schema: { $ref: '#/components/schemas/EligibilityAnswer' } } } },
            '401': unauthorized(),
            '404': errorResponse('No such check for the key\'s biobank (another biobank\'s check, and an id that is not a check id, are not found either).'),
            '429': tooManyRequests(),
            '500': internalError(),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This description',
          security: [],
          responses: {
            '200': {
              description: 'The OpenAPI document.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['openapi', 'info', 'paths', 'components'],
                    properties: {
                      openapi: { type: 'string', pattern: '^3\\.0\\.\\d+$' },
                      info: { type: 'object', required: ['title', 'version'], properties: { title: { type: 'string' }, version: { type: 'string' } } },
                      paths: { type: 'object' },
                      components: { type: 'object' },
                    },
                  },
                },
              },
            },
            '429': tooManyRequests(),
          },
        },
      },
    },
    components: {
      headers: {
        'WWW-Authenticate': { description: 'The authentication scheme to use.', required: true, schema: { type: 'string', pattern: '^Bearer ' } },
        'Retry-After': { description: 'Seconds to wait before trying again.', required: true, schema: { type: 'integer', minimum: 0 } },
        RateLimit: { description: 'The limit that was reached and when it resets (IETF draft-ietf-httpapi-ratelimit-headers-08).', required: true, schema: { type: 'string' } },
        'RateLimit-Policy': { description: 'The rate limit policies (draft-08).', required: true, schema: { type: 'string' } },
      },
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
          additionalProperties: false,
          required: ['checkId', 'projectId', 'registerVersion', 'snapshot', 'createdAt', 'purpose', 'requested', 'duplicates', 'requestedSha256', 'eligibleCount', 'excluded', 'eligible'],
          properties: {
            checkId: { type: 'string', format: 'uuid' },
            projectId: { type: 'integer', minimum: 1 },
            registerVersion: { type: 'integer', minimum: 0, description: 'The highest opt-out register event the check could see.' },
            snapshot: { type: 'string', pattern: '^\\d+:\\d+:(\\d+(,\\d+)*)?$', description: 'The database snapshot the check was decided in (pg_current_snapshot(), xmin:xmax:xip_list).' },
            createdAt: { type: 'string', format: 'date-time' },
            purpose: { type: 'string', enum: [...RESEARCH_PURPOSES], description: "The project's purpose when the check was made." },
            requested: { type: 'integer', minimum: 1, maximum: MAX_LABELS, description: 'Labels received, duplicates included.' },
            duplicates: { type: 'integer', minimum: 0, description: 'Labels received more than once (each repeat counted).' },
            requestedSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            eligibleCount: { type: 'integer', minimum: 0, description: 'The length of eligible.' },
            excluded: {
              type: 'object',
              additionalProperties: false,
              required: ['material', 'genetic', 'notAvailable', 'unknown'],
              properties: {
                material: { type: 'integer', minimum: 0, description: 'The donor has opted out of research on biological material.' },
                genetic: { type: 'integer', minimum: 0, description: 'The donor has opted out of research on genetic data, and the project asks for genetic data.' },
                notAvailable: { type: 'integer', minimum: 0, description: 'Distributed, depleted or destroyed.' },
                unknown: { type: 'integer', minimum: 0, description: 'Not a sample of this biobank.' },
              },
            },
            eligible: {
              type: 'array',
              uniqueItems: true,
              items: { type: 'string', minLength: 1, maxLength: MAX_LABEL_LENGTH },
              description: 'The eligible labels, in the order asked, each once.',
            },
          },
        },
        Error: {
          type: 'object',
          additionalProperties: false,
          required: ['error'],
          properties: {
            error: { type: 'string', minLength: 1, description: 'What is wrong, in English.' },
            details: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['path', 'message'],
                properties: {
                  path: {
                    type: 'array',
                    items: { oneOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] },
                    description: 'Where: keys and array indexes into the JSON body (["labels", 3]), or ["query", name] for a query parameter.',
                  },
                  message: { type: 'string', minLength: 1 },
                },
              },
            },
          },
        },
      },
    },
  }
}
