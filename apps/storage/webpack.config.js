// `node dist/apps/storage/migrate.js` applies the CQL migrations (copied next to it).
module.exports = require('../../tools/webpack/app.webpack')(__dirname, { entries: { migrate: './src/migrate.ts' }, migrations: true });
