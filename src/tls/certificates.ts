import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
  caPath: string;
}

const DAY = 24 * 3600_000;

/**
 * Slipway's own certificate authority and server certificate, made on first start and
 * kept in `<data>/tls`. Users trust the CA (GET /ca.pem) for git over HTTPS and `run`.
 */
export function loadOrCreateTls(dataDir: string, hostnames: string[]): TlsMaterial {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), names: join(dir, 'server-names.json') };

  if (!existsSync(paths.ca) || !existsSync(paths.caKey)) {
    const ca = makeCertificate({ commonName: 'Slipway local CA', isCa: true, days: 3650 });
    writeFileSync(paths.caKey, ca.keyPem, { mode: 0o600 });
    writeFileSync(paths.ca, ca.certPem);
  }
  const caPem = readFileSync(paths.ca, 'utf8');
  const wanted = JSON.stringify([...new Set(hostnames)].sort());
  const current = existsSync(paths.names) ? readFileSync(paths.names, 'utf8') : '';
  if (!existsSync(paths.cert) || !existsSync(paths.key) || current !== wanted) {
    const server = makeCertificate({
      commonName: hostnames[0] ?? 'localhost',
      isCa: false,
      days: 825,
      altNames: JSON.parse(wanted) as string[],
      issuer: { certPem: caPem, keyPem: readFileSync(paths.caKey, 'utf8') },
    });
    writeFileSync(paths.key, server.keyPem, { mode: 0o600 });
    writeFileSync(paths.cert, `${server.certPem}${caPem}`);
    writeFileSync(paths.names, wanted);
  }
  return { caPem, certPem: readFileSync(paths.cert, 'utf8'), keyPem: readFileSync(paths.key, 'utf8'), caPath: paths.ca };
}

interface CertificateRequest {
  commonName: string;
  isCa: boolean;
  days: number;
  altNames?: string[];
  issuer?: { certPem: string; keyPem: string };
}

function makeCertificate(request: CertificateRequest): { certPem: string; keyPem: string } {
  // Node generates the key natively (fast); forge only assembles and signs the certificate.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + request.days * DAY);
  const subject = [{ name: 'commonName', value: request.commonName }, { name: 'organizationName', value: 'Slipway' }];
  cert.setSubject(subject);
  const issuerCert = request.issuer ? forge.pki.certificateFromPem(request.issuer.certPem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: request.isCa, critical: true },
    request.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!request.isCa) {
    extensions.push({ name: 'extKeyUsage', serverAuth: true });
    extensions.push({
      name: 'subjectAltName',
      altNames: (request.altNames ?? []).map((name) => (/^[\d.]+$|:/.test(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    });
  }
  cert.setExtensions(extensions);
  const signingKey = forge.pki.privateKeyFromPem(request.issuer?.keyPem ?? keyPem);
  cert.sign(signingKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
