// `node dist/apps/feature-store/registry-cli.js plan|apply` manages the registry; `migrate.js` applies the SQL migrations.
module.exports = require('../../tools/webpack/app.webpack')(__dirname, {
  entries: { 'registry-cli': './src/registry-cli.ts', migrate: './src/migrate.ts' },
  migrations: true,
});
