import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { z } from 'zod';

export const OPENAPI_PATH = '/openapi.json';

type SwaggerTransform = Parameters<ReturnType<typeof createJsonSchemaTransform>>[0];

/** `body: { content: { '<type>': { schema } } }`: a body that is not JSON (WHEP's SDP). */
function isContentMap(body: unknown): body is { content: Record<string, { schema: z.ZodType }> } {
  return typeof body === 'object' && body !== null && 'content' in body && !(body instanceof z.ZodType);
}

/**
 * Routes declare their schemas with zod (validated and serialized by fastify-type-provider-zod);
 * the OpenAPI document is generated from them. A body per content type (`application/sdp`) is
 * converted here: the library's transform handles only JSON bodies.
 */
function transform(): (
  document: SwaggerTransform,
) => ReturnType<ReturnType<typeof createJsonSchemaTransform>> {
  const zodTransform = createJsonSchemaTransform({});
  return (document) => {
    const body = document.schema?.body;
    if (!isContentMap(body)) return zodTransform(document);
    const { body: _body, ...rest } = document.schema as Record<string, unknown>;
    const result = zodTransform({ ...document, schema: rest } as SwaggerTransform);
    const content = Object.fromEntries(
      Object.entries(body.content).map(([type, { schema }]) => [
        type,
        { schema: z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) },
      ]),
    );
    return { ...result, schema: { ...result.schema, body: { content } } };
  };
}

/**
 * zod validation and serialization for every route, and the OpenAPI 3.1 document of them all
 * at `/openapi.json` (no token: it describes the API, it holds no data). Call before any route.
 */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lookout',
        description:
          'Self-hosted camera backend: devices, recordings, WHEP live view (draft-ietf-wish-whep) and metrics. Errors are RFC 9457 problem documents.',
        version,
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API token (`lookout token create`), possibly limited to cameras and to reading.',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'lookout_session',
            description:
              'The session cookie set by `POST /api/session`; POST, PATCH and DELETE made with it also need the `X-Lookout-CSRF` header.',
          },
        },
      },
    },
    transform: transform(),
    transformObject: jsonSchemaTransformObject,
  });
}

/** Serves the generated document (after every route is registered: call it last). */
export function serveOpenApi(app: FastifyInstance): void {
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        summary: 'This document (OpenAPI 3.1).',
        tags: ['meta'],
        response: { 200: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document.') },
      },
    },
    async () => app.swagger(),
  );
}
