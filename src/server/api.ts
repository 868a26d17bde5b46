/**
 * The engine's JSON API: incidents (with bundle paths and action states), silences (list, add, remove) and
 * suppressed trips. Payloads are validated with the rule format's own Silence schema; bad input gets a 400
 * naming the field and the fix.
 */
import { randomUUID } from 'node:crypto';
import type { IncidentLog } from '../incident-log.ts';
import type { SilenceApi, SuppressedTrip } from '../rules/evaluate/suppress.ts';
import { SilenceSpecSchema } from '../rules/parse/schema.ts';
import { compileSilence } from '../rules/compile/compile.ts';
import type { TriplineError } from '../errors.ts';
import type { TriplineServer } from './http.ts';

export interface ApiDeps {
  readonly incidents: IncidentLog;
  readonly silences: () => SilenceApi;
  readonly suppressed: () => readonly SuppressedTrip[];
}

const bad = (message: string, hint: string) => ({
  status: 400,
  json: { error: { code: 'API_ERR_INVALID', message, hint } },
});

/** Mounts the API routes on the server. */
export function mountApi(server: TriplineServer, deps: ApiDeps): void {
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
  server.route('GET', '/api/silences', () => ({ json: { silences: deps.silences().list() } }));
  server.route('POST', '/api/silences', (req) => {
    const parsed = SilenceSpecSchema.safeParse(req.body);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return bad(
        `${i.path.join('.') || 'body'}: ${i.message}`,
        'send {"matchers": {"rule": "cpu-throttling"}, "starts_at": ISO time, "ends_at": ISO time, "author": "...", "comment": "..."}',
      );
    }
    const id = `api-${randomUUID()}`;
    const errors: string[] = [];
    const silence = compileSilence(id, parsed.data, { file: 'api', line: 1, column: 1 }, (path, err: TriplineError) => {
      errors.push(`${path.join('.')}: ${err.message}`);
    });
    if (!silence) return bad(errors.join('; '), 'fix the silence and send it again');
    try {
      deps.silences().add(silence);
    } catch (err) {
      return bad((err as Error).message, (err as TriplineError).hint ?? '');
    }
    return { status: 201, json: silence };
  });
  server.route('DELETE', '/api/silences/:id', (req) =>
    deps.silences().remove(req.params.id)
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
  server.route('GET', '/api/suppressed', () => ({ json: { suppressed: deps.suppressed() } }));
}
