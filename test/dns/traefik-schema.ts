// A JSON Schema for the part of Traefik's file-provider dynamic configuration phoenix writes,
// written from Traefik's reference (reference/dynamic-configuration/file): routers, services,
// servers transports and TLS certificates for http, tcp and udp. Unknown keys are rejected at the
// levels it describes, so a misspelt key fails the test rather than being ignored by Traefik.
const strings = { type: 'array', items: { type: 'string', minLength: 1 } };
const domains = {
  type: 'array',
  items: { type: 'object', additionalProperties: false, properties: { main: { type: 'string' }, sans: strings } },
};
const hostPort = { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' };
const named = (ref: string) => ({ type: 'object', additionalProperties: { $ref: `#/definitions/${ref}` } });
/** An http or tcp router: rule and service required. */
function router(rule: object, tlsExtra: object) {
  return {
    type: 'object',
    required: ['rule', 'service'],
    additionalProperties: false,
    properties: {
      entryPoints: strings,
      middlewares: strings,
      service: { type: 'string', minLength: 1 },
      rule,
      ruleSyntax: { type: 'string' },
      priority: { type: 'integer' },
      tls: {
        type: 'object',
        additionalProperties: false,
        properties: { ...tlsExtra, options: { type: 'string' }, certResolver: { type: 'string' }, domains },
      },
    },
  };
}

/** A service: exactly one of loadBalancer (servers with `key` required) or the other service types. */
function service(serverProps: object, key: string, lbExtra: object, others: object = {}) {
  return {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      loadBalancer: {
        type: 'object',
        required: ['servers'],
        additionalProperties: false,
        properties: {
          servers: { type: 'array', minItems: 1, items: { type: 'object', required: [key], additionalProperties: false, properties: serverProps } },
          ...lbExtra,
        },
      },
      weighted: { type: 'object' },
      ...others,
    },
  };
}

const section = (routers: string, services: string, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  additionalProperties: false,
  properties: { routers: named(routers), services: named(services), middlewares: { type: 'object' }, ...extra },
});

export const traefikDynamicSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    http: section('httpRouter', 'httpService', { serversTransports: named('serversTransport') }),
    tcp: section('tcpRouter', 'tcpService', { serversTransports: { type: 'object' } }),
    udp: { type: 'object', additionalProperties: false, properties: { routers: named('udpRouter'), services: named('udpService') } },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        certificates: {
          type: 'array',
          items: {
            type: 'object',
            required: ['certFile', 'keyFile'],
            additionalProperties: false,
            properties: { certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 }, stores: strings },
          },
        },
        options: { type: 'object' },
        stores: { type: 'object' },
      },
    },
  },
  definitions: {
    httpRouter: router({ type: 'string', minLength: 1 }, {}),
    tcpRouter: router({ type: 'string', pattern: '^HostSNI' }, { passthrough: { type: 'boolean' } }),
    udpRouter: {
      type: 'object',
      required: ['service'],
      additionalProperties: false,
      properties: { entryPoints: strings, service: { type: 'string', minLength: 1 } },
    },
    httpService: service(
      { url: { type: 'string', pattern: '^https?://' }, weight: { type: 'integer' }, preservePath: { type: 'boolean' } },
      'url',
      {
        sticky: { type: 'object' },
        healthCheck: { type: 'object' },
        passHostHeader: { type: 'boolean' },
        responseForwarding: { type: 'object' },
        serversTransport: { type: 'string' },
      },
      { mirroring: { type: 'object' }, failover: { type: 'object' } },
    ),
    tcpService: service({ address: hostPort, tls: { type: 'boolean' } }, 'address', {
      terminationDelay: { type: 'integer' },
      proxyProtocol: { type: 'object' },
      serversTransport: { type: 'string' },
    }),
    udpService: service({ address: hostPort }, 'address', {}),
    serversTransport: {
      type: 'object',
      additionalProperties: false,
      properties: {
        serverName: { type: 'string' },
        insecureSkipVerify: { type: 'boolean' },
        rootCAs: strings,
        certificates: { type: 'array' },
        maxIdleConnsPerHost: { type: 'integer' },
        forwardingTimeouts: { type: 'object' },
        disableHTTP2: { type: 'boolean' },
        peerCertURI: { type: 'string' },
        spiffe: { type: 'object' },
      },
    },
  },
} as const;
