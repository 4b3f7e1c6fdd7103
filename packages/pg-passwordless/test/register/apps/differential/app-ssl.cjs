// An app with TLS options of its own: its CA (APP_CA), a client certificate and an encrypted key with
// its passphrase, and a servername. They must reach tls.connect as the app wrote them: the socket
// holds the app's certificate, and the server was verified against the app's CA.
const { readFileSync } = require('node:fs');
const { Client } = require('pg');
const { note, settle, watch } = require('./observe.cjs');

async function main() {
  const client = watch(
    'client',
    new Client({
      ssl: {
        ca: readFileSync(process.env.APP_CA),
        cert: readFileSync(process.env.APP_CLIENT_CERT),
        key: readFileSync(process.env.APP_CLIENT_KEY),
        passphrase: process.env.APP_CLIENT_KEY_PASSPHRASE,
        servername: 'localhost',
      },
    }),
  );
  await settle('connect', client.connect());
  const socket = client.connection.stream;
  note(`TLS: ${socket.encrypted ? 'on' : 'off'}, authorized: ${socket.authorized}`);
  note(`server certificate: ${socket.getPeerCertificate().subject?.CN}`);
  note(`own certificate: ${socket.getCertificate()?.subject?.CN}`);
  await settle('query', client.query('select 1 as n'), (result) => `resolved ${JSON.stringify(result.rows)}`);
  await settle('end', client.end());
}
main();
