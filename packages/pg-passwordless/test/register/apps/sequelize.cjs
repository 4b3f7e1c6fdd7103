// A CommonJS Sequelize app, as its docs write it.
const { QueryTypes, Sequelize } = require('sequelize');

async function main() {
  const sequelize = new Sequelize(process.env.DATABASE_URL, { logging: false });
  const [row] = await sequelize.query('select current_user', { type: QueryTypes.SELECT });
  console.log(JSON.stringify({ role: row.current_user }));
  await sequelize.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
