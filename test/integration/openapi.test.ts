import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** What these tests read of an operation (the document is validated as a whole first). */
interface Operation {
  parameters: Array<{ in: string; name: string }>;
  requestBody: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: unknown;
}

/** `/openapi.json` of a real server: valid OpenAPI 3, and every route the server has is in it. */
describe('/openapi.json', () => {
  let t: TestServer;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };

  beforeAll(async () => {
    t = await startTestServer({ 'media.workers': 1 });
    const res = await fetch(`${t.httpUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(() => t?.close());

  /** The operation, or a failed expectation naming it. */
  const op = (path: string, method: string): Operation => {
    const operation = doc.paths[path]?.[method];
    if (!operation) throw new Error(`no ${method} ${path} in the document`);
    return operation;
  };
  /** The schema of one content type of a body or response. */
  const schemaOf = (content: Record<string, { schema: unknown }> | undefined, type: string) =>
    content?.[type]?.schema;

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the server has, each with its responses', () => {
    const routes = t.server.http.routes;
    // Health, metrics, this document, devices, recordings and WHEP (with its CORS preflight).
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const { method, url } of routes) {
      // Fastify's `:param` and `*` are OpenAPI's `{param}` and `{*}`.
      const path = url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
      const operation = op(path, method.toLowerCase());
      // A route without a response schema gets @fastify/swagger's placeholder ("Default Response").
      const success = Object.entries(operation.responses).filter(([status]) => /^2/.test(status));
      expect(success.length, `${method} ${url}: a success response`).toBeGreaterThan(0);
      for (const [status, response] of success) {
        const declared = response.content !== undefined || response.description !== 'Default Response';
        expect(declared, `${method} ${url} ${status}: a schema or a description`).toBe(true);
      }
      // Every path parameter is declared.
      for (const name of url.match(/:(\w+)/g) ?? [])
        expect(
          operation.parameters.map((p) => p.name),
          `${method} ${url}`,
        ).toContain(name.slice(1));
      // Every error is the one shared problem document.
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        expect(schemaOf(response.content, 'application/problem+json'), `${method} ${url} ${status}`).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
    }
    expect(doc.components.schemas).toHaveProperty('Problem');
  });

  it('gives each route its request and response shapes, SDP included', () => {
    const whep = op('/whep/{deviceId}', 'post');
    expect(schemaOf(whep.requestBody.content, 'application/sdp')).toMatchObject({
      type: 'string',
      maxLength: 65536,
    });
    expect(schemaOf(whep.responses['201']?.content, 'application/sdp')).toEqual({ type: 'string' });
    expect(whep.security).toEqual([{ bearer: [] }, { session: [] }]);
    const listing = op('/api/devices/{id}/recordings', 'get');
    expect(listing.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`).sort()).toEqual([
      'path:id',
      'query:access_token',
      'query:from',
      'query:to',
    ]);
    expect(schemaOf(listing.responses['200']?.content, 'application/json')).toEqual({
      $ref: '#/components/schemas/RecordingListing',
    });
    const policy = op('/api/devices/{id}/recording', 'patch');
    expect(schemaOf(policy.requestBody.content, 'application/json')).toEqual({
      $ref: '#/components/schemas/RecordingPolicyInput',
    });
    expect(op('/healthz', 'get').security).toBeUndefined();
  });

  it('answers a request that breaks its schema with a problem naming the part', async () => {
    const token = (await t.server.registry.tokens.create('test')).token;
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    t.addDevice('cam1');
    const body = await fetch(`${t.httpUrl}/api/devices/cam1/recording`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ mode: 'sometimes' }),
    });
    expect(body.status).toBe(400);
    expect(body.headers.get('content-type')).toMatch(/problem\+json/);
    expect(await body.json()).toMatchObject({ code: 'BODY_INVALID', detail: expect.stringMatching(/mode/) });
    const query = await fetch(`${t.httpUrl}/api/devices/cam1/recordings?from=${'x'.repeat(100)}`, {
      headers: auth,
    });
    expect(query.status).toBe(400);
    expect(await query.json()).toMatchObject({ code: 'QUERY_INVALID' });
  });
});
