// Prisma 7 with the pg driver adapter on a pool whose connections log in with cloud identity tokens.
// The cloud comes from the environment (PG_PASSWORDLESS_ENABLED=true plus PG_PASSWORDLESS_AZURE_ENABLED,
// _AWS_ or _GCP_). Try it against the emulator:
//   npx prisma generate --config prisma.config.ts
//   eval "$(npx pg-passwordless-emulator --detach --cloud azure)"
//   npx tsx prisma.mjs && npx pg-passwordless-emulator stop
import { PrismaPg } from '@prisma/adapter-pg';
import { createPool } from 'pg-passwordless/pg';
import { PrismaClient } from './generated/client.ts';

const pool = await createPool(process.env.DATABASE_URL ?? '');
// The adapter keeps a pg.Pool it is given (an `instanceof pg.Pool` check against its own pg, so the app
// and the adapter must share one pg copy) and does not end it on $disconnect().
const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });

// In an app, `prisma migrate deploy` creates the table. Migrate takes a URL, neither this pool nor a
// password function: run it through `pg-passwordless proxy` (the library README's "Prisma's migrations").
await prisma.$executeRaw`create table if not exists prisma_notes (id serial primary key, body text not null)`;
await prisma.note.create({ data: { body: 'no password anywhere' } });
const notes = await prisma.note.count();
const [{ role }] = await prisma.$queryRaw`select current_user as role`;
console.log(JSON.stringify({ role, notes, ownPoolUsed: pool.totalCount > 0 }));
await prisma.$disconnect();
await pool.end();
