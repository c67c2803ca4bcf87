// A real OpenID Connect provider for the browser sign-in test (tests/security/test_browser_signin.py):
// the `oidc-provider` package with one confidential client (carelog), PKCE required, its own RSA
// signing key, and the accounts of ACCOUNTS ({"login": {claims}}) whose carelog claims it puts in
// the ID token. Its built-in login form takes any password: it stands in for the agency's provider.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const issuer = env('ISSUER');
const accounts = JSON.parse(env('ACCOUNTS'));
const carelogClaims = ['role', 'children', 'households'];
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      redirect_uris: [env('REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', alg: 'RS256', use: 'sig' }] },
  pkce: { required: () => true },
  scopes: ['openid', 'carelog'],
  claims: { openid: ['sub'], carelog: carelogClaims },
  // The carelog claims in the ID token itself, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  cookies: { keys: ['test-provider-cookie-key'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    return claims && { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // The agency's own application: no consent screen, as an agency's provider would be set up.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid carelog');
    grant.addOIDCClaims(carelogClaims);
    await grant.save();
    return grant;
  },
});

const port = Number(new URL(issuer).port);
provider.listen(port, '127.0.0.1', () => console.log(`provider listening on ${issuer}`));
