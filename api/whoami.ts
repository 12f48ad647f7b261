import type { FastifyInstance } from 'fastify';
import { API_ROLES } from './keys.ts';
import { errorResponses } from './schemas.ts';

/**
 * GET /v1/whoami: the key that made the request (id, name, role), never its secret. Clients such as
 * the review page (/review) ask it once at sign-in to check the key and to know which actions to
 * offer; the server still checks the role on every mutating route.
 */
export function registerWhoamiRoute(app: FastifyInstance): void {
  app.get('/v1/whoami', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The API key of this request: its id, name and role (never its secret)',
      response: {
        200: {
          type: 'object',
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'key id (16 hex digits; the part after nck_)' },
            name: { type: 'string', description: 'recorded as key:<name> in audit trails' },
            role: { type: 'string', enum: [...API_ROLES], description: 'viewer reads; operator also approves, rejects and executes plans and places VMs; admin also manages keys' },
          },
          required: ['id', 'name', 'role'],
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    // The auth hook has verified the key before any /v1 handler runs, so caller is set here.
    const { id, name, role } = req.caller!;
    return { id, name, role };
  });
}
