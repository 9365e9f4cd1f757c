// A real OpenID Provider (the npm package oidc-provider) on loopback, for phigate's OIDC
// integration test (tests/controlplane/oidc/oidc_provider_test.sh starts and stops it).
//
//   node provider.mjs <port>
//
// Issuer http://127.0.0.1:<port>. One confidential client (client_secret_basic) allowed only the
// client_credentials grant. Access tokens are JWTs because every resource indicator maps to a
// resource server with accessTokenFormat 'jwt':
//   https://api.phigate.test/rs256 | /ps256 | /es256 | /eddsa   audience https://api.phigate.test,
//                                                             signed with that algorithm
//   https://other.phigate.test                                 audience https://other.phigate.test (RS256)
// Each token carries a `groups` claim (extraTokenClaims).
//
// Key rotation: oidc-provider reads its keys once, at construction. A rotation therefore builds a
// fresh Provider with a new key per algorithm and routes every later request to it; tokens the
// old instance issued are plain JWTs, so they stay verifiable for as long as the new JWKS still
// publishes the old keys. Trigger: `POST /admin/rotate?keep_old=1|0` (answers the signing kids
// and the published kids) or SIGUSR2 (keep_old=1). `GET /admin/state` answers the same JSON.
//
// Prints "ready <issuer>" on stdout once it listens. Test-only: the admin routes have no
// authentication and the keys live in memory.
import { generateKeyPairSync } from 'node:crypto';
import * as http from 'node:http';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

const port = Number.parseInt(process.argv[2] ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node provider.mjs <port>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.PHIGATE_OIDC_CLIENT_ID || 'phigate-test';
const clientSecret = process.env.PHIGATE_OIDC_CLIENT_SECRET || 'phigate-test-secret-0123456789abcdef';
const apiAudience = 'https://api.phigate.test';
const otherAudience = 'https://other.phigate.test';
const groups = ['phi-readers', 'ops'];
// More principals for the appliance tests: PHIGATE_OIDC_CLIENTS='[{"id":..,"secret":..,"groups":[..]}]'
// adds clients (client credentials; the token's subject is the client id).
const extraClients = JSON.parse(process.env.PHIGATE_OIDC_CLIENTS || '[]');
const clientGroups = new Map([[clientId, groups], ...extraClients.map((c) => [c.id, c.groups ?? []])]);

const algs = ['RS256', 'PS256', 'ES256', 'EdDSA'];

let generation = 0;

function newPrivateJwk(alg) {
  let pair;
  switch (alg) {
    case 'RS256':
    case 'PS256': pair = generateKeyPairSync('rsa', { modulusLength: 2048 }); break;
    case 'ES256': pair = generateKeyPairSync('ec', { namedCurve: 'P-256' }); break;
    case 'EdDSA': pair = generateKeyPairSync('ed25519'); break;
    default: throw new Error(`no key type for ${alg}`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  // The alg is pinned in the published JWK: the verifier must take it from the key.
  return { ...jwk, kid: `g${generation}-${alg.toLowerCase()}`, alg, use: 'sig' };
}

// Newest keys first; `signing` maps alg -> kid of the key that signs new tokens.
let state = { keys: [], signing: {} };
let current = null;  // { provider, handler }

// `signing` is the instance's own alg -> kid map: a request still in flight on the instance a
// rotation just replaced must sign with that instance's keys, not the new ones (it would answer
// 500 "no corresponding key in the provider's keystore").
function resourceServer(resource, signing) {
  const match = /^https:\/\/api\.phigate\.test\/(rs256|ps256|es256|eddsa)$/.exec(resource);
  let alg;
  let audience;
  if (match) {
    alg = algs.find((a) => a.toLowerCase() === match[1]);
    audience = apiAudience;
  } else if (resource === otherAudience) {
    alg = 'RS256';
    audience = otherAudience;
  } else {
    return null;
  }
  return {
    scope: 'api:read',
    audience,
    accessTokenTTL: 3600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg, kid: signing[alg] } },
  };
}

function buildProvider(jwks, signing) {
  const provider = new Provider(issuer, {
    clients: [{ id: clientId, secret: clientSecret }, ...extraClients].map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
    })),
    jwks,
    // No interactive flows are enabled, so no cookie is ever set; keys only silence the warning.
    cookies: { keys: ['phigate-oidc-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => `${apiAudience}/rs256`,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          const info = resourceServer(resourceIndicator, signing);
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
    },
    extraTokenClaims: (ctx, token) => ({ groups: clientGroups.get(token.clientId) ?? [] }),
    scopes: ['openid', 'api:read'],
  });
  provider.on('server_error', (ctx, err) => console.error('provider server_error:', err));
  provider.on('grant.error', (ctx, err) => console.error('provider grant.error:', err.message, err.error_description ?? ''));
  return { provider, handler: provider.callback() };
}

// keep_old: the previous keys stay published (after the new ones), so tokens they signed keep
// verifying; otherwise they vanish from the JWKS at once.
function rotate(keepOld) {
  generation += 1;
  const fresh = algs.map(newPrivateJwk);
  const keys = keepOld ? [...fresh, ...state.keys] : fresh;
  const signing = Object.fromEntries(fresh.map((k) => [k.alg, k.kid]));
  const next = buildProvider({ keys }, signing);
  state = { keys, signing };
  current = next;
  return describe();
}

function describe() {
  return { generation, signing: state.signing, published: state.keys.map((k) => k.kid) };
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

rotate(false);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/admin/rotate' && req.method === 'POST') {
    answer(res, 200, rotate(url.searchParams.get('keep_old') === '1'));
    return;
  }
  if (url.pathname === '/admin/state' && req.method === 'GET') {
    answer(res, 200, describe());
    return;
  }
  current.handler(req, res);
});

process.on('SIGUSR2', () => {
  const d = rotate(true);
  console.log(`rotated to generation ${d.generation}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));

server.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
