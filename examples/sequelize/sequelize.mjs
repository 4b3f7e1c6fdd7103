// Sequelize with a token as the password of every new connection, read replicas included. Try it:
//   eval "$(npx pg-passwordless-emulator --detach)"
//   node sequelize.mjs && npx pg-passwordless-emulator stop

import { usePasswordless } from 'pg-passwordless/sequelize';
import { Sequelize } from 'sequelize';

const { hostname: host, port } = new URL(process.env.DATABASE_URL ?? '');
const server = { host, port: Number(port) };
const sequelize = new Sequelize(process.env.DATABASE_URL ?? '', {
  dialect: 'postgres',
  logging: false,
  // Reads go to the replicas, writes to the primary; here all three are the same server.
  replication: { write: server, read: [server, server] },
});
usePasswordless(sequelize);

const read = await sequelize.query('select current_user as role', { plain: true });
const write = await sequelize.transaction((transaction) =>
  sequelize.query('select current_user as role, version() as version', { plain: true, transaction }),
);
console.log(`read as ${read.role}`);
console.log(`logged in as ${write.role} (${write.version.split(' on ')[0]})`);
await sequelize.close();
