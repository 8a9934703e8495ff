// A small OpenID provider for the end-to-end test of the generated API.
//
// It runs the certified `oidc-provider` package on 127.0.0.1 with confidential clients
// that may use the client_credentials grant. With a `resource` parameter (RFC 8707) the
// token endpoint returns a JWT access token (RFC 9068, `typ: at+jwt`) whose `aud` is that
// resource. Discovery (/.well-known/openid-configuration) publishes `jwks_uri`.
//
// Usage:
//   node provider.mjs --port 9400 [--jwks keys.json] [--alg RS256] [--sign-kid KID]
//
// Every option can also be given by environment variable:
//   --port       E2E_PROVIDER_PORT      TCP port on 127.0.0.1 (required)
//   --jwks       E2E_PROVIDER_JWKS      file with a private JWK Set ({"keys": [...]});
//                                      without it fresh RS256, PS256 and ES256 keys are made
//   --alg        E2E_PROVIDER_ALG       default signing algorithm of access tokens (RS256)
//   --sign-kid   E2E_PROVIDER_SIGN_KID  kid of the key that signs access tokens of the
//                                      default algorithm; default: the first key of the
//                                      set that fits the algorithm
//   --client-id  E2E_CLIENT_ID          base client id (orders-e2e)
//   --secret     E2E_CLIENT_SECRET      secret of every client
//   --ttl        E2E_TOKEN_TTL          access token lifetime in seconds (600)
//   --client-key E2E_CLIENT_PUBLIC_JWK  file with the public JWK of client
//                                       "<client-id>-pkjwt" (private_key_jwt)
//   --token-prefix E2E_TOKEN_PREFIX     prefix of every opaque access token it issues
//                                       (as servers that mark their tokens do)
//
// Clients (all with the same secret, client_secret_basic or client_secret_post):
//   <client-id>         access tokens signed with the default algorithm, role "reader"
//   <client-id>-rs256   RS256, role "reader"
//   <client-id>-ps256   PS256, role "auditor"
//   <client-id>-es256   ES256, role "operator"
//   <client-id>-dpop    ES256, role "holder"; its tokens are DPoP-bound (RFC 9449): the
//                       token request carries a DPoP proof and the token cnf.jkt
//
// Any absolute https:// resource indicator is accepted as an audience; the scopes of that
// resource server are `read` and `write`.
//
// When listening, one line is printed to stdout:
//   OIDC-PROVIDER READY issuer=http://127.0.0.1:PORT jwks_uri=... kids=a,b,c
// SIGTERM or SIGINT stops the server.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

const SUPPORTED_ALGS = ['RS256', 'PS256', 'ES256'];
const RESOURCE_SCOPES = 'read write';

const USAGE = `usage: node provider.mjs --port N [--jwks FILE] [--alg RS256|PS256|ES256]
                        [--sign-kid KID] [--client-id ID] [--secret SECRET] [--ttl SECONDS]
                        [--client-key FILE] [--token-prefix PREFIX]
Each option may also come from the environment: E2E_PROVIDER_PORT, E2E_PROVIDER_JWKS,
E2E_PROVIDER_ALG, E2E_PROVIDER_SIGN_KID, E2E_CLIENT_ID, E2E_CLIENT_SECRET, E2E_TOKEN_TTL,
E2E_CLIENT_PUBLIC_JWK, E2E_TOKEN_PREFIX.
Without --jwks, fresh RS256, PS256 and ES256 keys are made at start.
`;

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (!arg.startsWith('--')) {
      throw new Error(`unexpected argument: ${arg}`);
    }
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      options[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) {
        throw new Error(`missing value for ${arg}`);
      }
      options[arg.slice(2)] = argv[i + 1];
      i += 1;
    }
  }
  return options;
}

function fail(message) {
  process.stderr.write(`provider: ${message}\n`);
  process.exit(2);
}

function generatedKeys() {
  const rsa = (kid, alg) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  };
  const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return [
    rsa('generated-rs256', 'RS256'),
    rsa('generated-ps256', 'PS256'),
    { ...ec.export({ format: 'jwk' }), kid: 'generated-es256', alg: 'ES256', use: 'sig' },
  ];
}

function loadKeys(path) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`cannot read the JWK Set in ${path}: ${err.message}`);
  }
  const keys = Array.isArray(parsed) ? parsed : parsed.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    fail(`${path} holds no keys (expected {"keys": [...]})`);
  }
  for (const key of keys) {
    if (!key.d) {
      fail(`key ${key.kid ?? '(no kid)'} in ${path} is not a private key`);
    }
  }
  return keys;
}

const args = parseArgs(process.argv.slice(2));
const setting = (name, envName, fallback) => args[name] ?? process.env[envName] ?? fallback;

const port = Number.parseInt(setting('port', 'E2E_PROVIDER_PORT', ''), 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  fail('a TCP port is required: --port N or E2E_PROVIDER_PORT');
}
const jwksPath = setting('jwks', 'E2E_PROVIDER_JWKS', '');
const defaultAlg = setting('alg', 'E2E_PROVIDER_ALG', 'RS256');
if (!SUPPORTED_ALGS.includes(defaultAlg)) {
  fail(`--alg must be one of ${SUPPORTED_ALGS.join(', ')}, not ${defaultAlg}`);
}
const signKid = setting('sign-kid', 'E2E_PROVIDER_SIGN_KID', '') || undefined;
const clientId = setting('client-id', 'E2E_CLIENT_ID', 'orders-e2e');
const clientSecret = setting('secret', 'E2E_CLIENT_SECRET', 'orders-e2e-secret-not-for-production');
const tokenTtl = Number.parseInt(setting('ttl', 'E2E_TOKEN_TTL', '600'), 10);
if (!Number.isInteger(tokenTtl) || tokenTtl <= 0) {
  fail('--ttl must be a positive number of seconds');
}

const tokenPrefix = setting('token-prefix', 'E2E_TOKEN_PREFIX', '');
if (!/^[A-Za-z0-9._~+/-]*$/.test(tokenPrefix)) {
  fail('--token-prefix may hold only letters, digits and -._~+/');
}

const keys = jwksPath ? loadKeys(jwksPath) : generatedKeys();
if (signKid && !keys.some((key) => key.kid === signKid)) {
  fail(`--sign-kid ${signKid} names no key of the set`);
}

const issuer = `http://127.0.0.1:${port}`;

const client = (id, alg, role) => ({
  client_id: id,
  client_secret: clientSecret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: RESOURCE_SCOPES,
  access_token_signing_alg: alg,
  role,
});

const clients = [
  client(clientId, defaultAlg, 'reader'),
  client(`${clientId}-rs256`, 'RS256', 'reader'),
  client(`${clientId}-ps256`, 'PS256', 'auditor'),
  client(`${clientId}-es256`, 'ES256', 'operator'),
  { ...client(`${clientId}-dpop`, 'ES256', 'holder'), dpop_bound_access_tokens: true },
];
// The same clients, authenticating with client_secret_post.
for (const entry of [...clients]) {
  clients.push({
    ...entry,
    client_id: `${entry.client_id}-post`,
    token_endpoint_auth_method: 'client_secret_post',
  });
}
// A client that authenticates with private_key_jwt (RFC 7523), with the public key given.
const clientKeyPath = setting('client-key', 'E2E_CLIENT_PUBLIC_JWK', '');
if (clientKeyPath) {
  const { client_secret: _, ...entry } = client(`${clientId}-pkjwt`, defaultAlg, 'reader');
  clients.push({
    ...entry,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [JSON.parse(readFileSync(clientKeyPath, 'utf8'))] },
  });
}

function isAbsoluteHttps(value) {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && !url.hash;
  } catch {
    return false;
  }
}

const configuration = {
  clients,
  jwks: { keys },
  scopes: ['openid', 'read', 'write'],
  extraClientMetadata: {
    properties: ['access_token_signing_alg', 'role'],
    validator(ctx, key, value) {
      if (key === 'access_token_signing_alg' && value !== undefined
        && !SUPPORTED_ALGS.includes(value)) {
        throw new errors.InvalidClientMetadata(`${key} must be one of ${SUPPORTED_ALGS.join(', ')}`);
      }
    },
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      async getResourceServerInfo(ctx, resourceIndicator, tokenClient) {
        if (!isAbsoluteHttps(resourceIndicator)) {
          throw new errors.InvalidTarget('resource must be an absolute https:// URL without a fragment');
        }
        const alg = tokenClient.access_token_signing_alg ?? defaultAlg;
        return {
          scope: RESOURCE_SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: tokenTtl,
          accessTokenFormat: 'jwt',
          jwt: {
            sign: alg === defaultAlg && signKid ? { alg, kid: signKid } : { alg },
          },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    const role = token.client?.role;
    return role ? { role } : undefined;
  },
  ttl: {
    ClientCredentials: tokenTtl,
    AccessToken: tokenTtl,
  },
  // Only keys that the given set holds may sign; tokens name their key by kid.
  enabledJWA: {
    idTokenSigningAlgValues: SUPPORTED_ALGS,
  },
  cookies: { keys: ['e2e-cookie-key-not-for-production'] },
};

const provider = new Provider(issuer, configuration);
if (tokenPrefix) {
  // An opaque token's value is its id: the prefix goes in front of the random part.
  for (const model of [provider.AccessToken, provider.ClientCredentials]) {
    const randomId = model.prototype.generateTokenId;
    model.prototype.generateTokenId = function prefixedTokenId(...args) {
      return tokenPrefix + randomId.apply(this, args);
    };
  }
}
provider.on('server_error', (ctx, err) => {
  process.stderr.write(`provider: server error: ${err.stack || err}\n`);
});
provider.on('grant.error', (ctx, err) => {
  process.stderr.write(`provider: token request refused: ${err.message} ${err.error_description ?? ''}\n`);
});

const server = provider.listen(port, '127.0.0.1', () => {
  const kids = keys.map((key) => key.kid ?? '(none)').join(',');
  process.stdout.write(`OIDC-PROVIDER READY issuer=${issuer} jwks_uri=${issuer}/jwks kids=${kids}\n`);
});
server.on('error', (err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
