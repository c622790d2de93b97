import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Access, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';

/** What `/metrics` serves: the Prometheus text exposition (metrics/). */
export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
}

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics` for Prometheus. With `auth: 'token'` (`http.metricsAuth`, the default) it needs
 * an API token like the rest of the API (Prometheus sends it with `authorization.credentials`);
 * `none` serves it to anyone who reaches the port.
 */
export function metricsRoute(
  app: FastifyInstance,
  metrics: MetricsExposition,
  options: { auth: 'token' | 'none'; access: Access },
): void {
  const guarded = options.auth === 'token';
  app.get(
    METRICS_PATH,
    {
      ...(guarded ? { preHandler: requireRight(options.access, 'admin') } : {}),
      schema: {
        summary: 'Prometheus metrics (text exposition format 0.0.4).',
        tags: ['meta'],
        ...(guarded ? bearer : {}),
        response: {
          200: {
            description: 'Every series; see docs/http-api.md for their meaning.',
            content: { 'text/plain': { schema: z.string() } },
          },
          ...(guarded ? problems(401) : {}),
        },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()),
  );
}
