import { startEmulator } from './src/emulator/index.ts';
const emulator = await startEmulator({ backend: (process.argv[2] ?? 'postgres') as 'postgres' });
const res = await fetch(`${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ossrdbms-aad.database.windows.net`, { headers: { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER! } });
const body = await res.json() as { access_token: string };
const { spawn } = await import('node:child_process');
const child = spawn('psql', ['-X', '-At', '-c', 'select current_user'], { env: { ...process.env, ...emulator.env, PGPASSWORD: body.access_token, PGCONNECT_TIMEOUT: '5' } });
child.stdout.on('data', (d) => console.log('out', String(d)));
child.stderr.on('data', (d) => console.log('err', String(d)));
setTimeout(() => { console.log('stats', emulator.counters()); child.kill(); emulator.stop(); }, 4000);
