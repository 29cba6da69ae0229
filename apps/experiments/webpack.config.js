// `node dist/apps/experiments/experiments-cli.js create|start|stop|list|get|results` drives the service; `migrate.js`
// applies the SQL migrations.
module.exports = require('../../tools/webpack/app.webpack')(__dirname, {
  entries: { 'experiments-cli': './src/experiments-cli.ts', migrate: './src/migrate.ts' },
  migrations: true,
});
