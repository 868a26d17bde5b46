/**
 * The engine's JSON API: incidents (with bundle paths and action states), silences (list, add, remove) and
 * suppressed trips. Every route is authenticated by the server (see ./auth.ts); mounting refuses a server without
 * it. Silences go to the silence service (validated, bounded and logged there); bad input gets a 400 naming the
 * field and the fix.
 */
import type { IncidentLog } from '../incident-log.ts';
import type { SilenceService } from '../rules/silence-service.ts';
import { TriplineError } from '../errors.ts';
import type { TriplineServer } from './http.ts';

export interface ApiDeps {
  readonly incidents: IncidentLog;
  readonly silences: SilenceService;
}

const bad = (message: string, hint: string) => ({
  status: 400,
  json: { error: { code: 'API_ERR_INVALID', message, hint } },
});

/** Mounts the API routes on the server; throws SERVER_ERR_REQUEST when the server does not authenticate `/api`. */
export function mountApi(server: TriplineServer, deps: ApiDeps): void {
  if (!server.apiProtected)
    throw new TriplineError('SERVER_ERR_REQUEST', 'refusing to mount the API on a server without authentication', {
      hint: 'create the server with api: { token } (the engine reads it from api.token_file)',
    });
  server.route('GET', '/api/incidents', (req) => {
    const status = req.query.get('status');
    if (status !== null && status !== 'firing' && status !== 'resolved')
      return bad(
        `status=${status} is not firing or resolved`,
        'use ?status=firing or ?status=resolved, or leave it out',
      );
    return { json: { incidents: deps.incidents.list(status ?? undefined) } };
  });
  server.route('GET', '/api/incidents/:id', (req) => {
    const r = deps.incidents.get(req.params.id);
    return r
      ? { json: r }
      : {
          status: 404,
          json: {
            error: {
              code: 'API_ERR_NOT_FOUND',
              message: `no incident ${req.params.id}`,
              hint: 'list them with GET /api/incidents',
            },
          },
        };
  });
  server.route('GET', '/api/silences', async () => ({ json: { silences: await deps.silences.list() } }));
  server.route('POST', '/api/silences', async (req) => {
    try {
      return { status: 201, json: await deps.silences.add(req.body) };
    } catch (err) {
      if (err instanceof TriplineError || (err as Error)?.name === 'TriplineError')
        return bad((err as Error).message, (err as TriplineError).hint ?? '');
      throw err;
    }
  });
  server.route('DELETE', '/api/silences/:id', async (req) =>
    (await deps.silences.remove(req.params.id))
      ? { status: 204 }
      : {
          status: 404,
          json: {
            error: {
              code: 'API_ERR_NOT_FOUND',
              message: `no run-time silence ${req.params.id}`,
              hint: 'silences from rule files are removed by editing the file',
            },
          },
        },
  );
  server.route('GET', '/api/suppressed', async () => ({ json: { suppressed: await deps.silences.suppressed() } }));
}
